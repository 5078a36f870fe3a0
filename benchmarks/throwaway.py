"""What a benchmark runs against and throws away afterwards: a Django set up on a new SQLite
database, so a benchmark never writes to a real one, and a simulator of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.server import RunningSimulator


def use_throwaway_database(
    directory: Path,
    *,
    benchmark: str,
    allowed_hosts: str = "testserver",
    collect_static: bool = False,
) -> None:
    """Point Django at a new SQLite database under `directory` and migrate it.

    Must come before anything else sets Django up: the settings read DATABASE_URL once.
    `collect_static` builds the static files' manifest, for pages served as in production.
    """
    import django
    from django.apps import apps

    if apps.ready:
        raise RuntimeError(
            "Django is set up already; run this benchmark in a process of its own "
            f"(python -m benchmarks.{benchmark}), it must not write to a real database."
        )
    os.environ["DJANGO_SETTINGS_MODULE"] = "things_portal.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{directory / f'{benchmark}.sqlite3'}"
    os.environ["THINGS_PORTAL_VAR_DIR"] = str(directory / "var")
    os.environ["DEBUG"] = "false"  # as in production; DEBUG would keep every query in memory
    os.environ["ALLOWED_HOSTS"] = allowed_hosts
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["SERVER_TIMING"] = "true"  # the page benchmark reads the portal's own time there
    os.environ["STATIC_ROOT"] = str(directory / "static")
    django.setup()

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if collect_static:
        call_command("collectstatic", interactive=False, verbosity=0)


@contextmanager
def simulator_in_thread(directory: Path, **settings: Any) -> Iterator[RunningSimulator]:
    """The simulator over HTTP in a thread, its store under `directory` and its clock frozen:
    nothing changes unless the run moves the clock. `settings` are SimulatorSettings fields."""
    from simulator.app import create_app
    from simulator.clock import ManualClock
    from simulator.config import SimulatorSettings
    from simulator.server import start_in_thread

    config = SimulatorSettings(database=str(directory / "simulator.sqlite3"), **settings)
    app = create_app(config, clock=ManualClock())
    running = start_in_thread(app)
    try:
        yield running
    finally:
        running.stop()
        app.store.close()
