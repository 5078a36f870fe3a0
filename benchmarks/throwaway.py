"""What a benchmark runs against and throws away afterwards: a Django set up on a new SQLite
database (or a new PostgreSQL database on a server the environment names), so a benchmark
never writes to a real one, and a simulator of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import TupleRow

    from simulator.server import RunningSimulator


def use_throwaway_database(
    directory: Path,
    *,
    benchmark: str,
    allowed_hosts: str = "testserver",
    collect_static: bool = False,
    database_url: str | None = None,
) -> None:
    """Point Django at a new SQLite database under `directory` (or at `database_url`, a new
    database of `throwaway_postgres_database`) and migrate it.

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
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{directory / f'{benchmark}.sqlite3'}"
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


POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def names_postgres(database_url: str) -> bool:
    """Whether a DATABASE_URL (as dj-database-url reads it) names a PostgreSQL database."""
    return urlsplit(database_url).scheme in POSTGRES_SCHEMES


def _with_database(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _admin_connection(server_url: str) -> Connection[TupleRow]:
    """An autocommit connection to the server for CREATE/DROP DATABASE: to its maintenance
    database `postgres`, else to the database the URL names (which need not exist)."""
    import psycopg

    try:
        return psycopg.connect(_with_database(server_url, "postgres"), autocommit=True)
    except psycopg.OperationalError:
        return psycopg.connect(server_url, autocommit=True)


@contextmanager
def throwaway_postgres_database(server_url: str, *, benchmark: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server `server_url` points at, with a name of
    its own; yields its URL. Dropped afterwards, also when the benchmark fails: whatever
    still holds a connection to it then (this process's Django, a server that was killed) is
    disconnected first, so nothing is left behind on the server."""
    from psycopg import sql

    name = f"bench_{benchmark}_{uuid.uuid4().hex[:12]}"
    with _admin_connection(server_url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server_url, name)
    finally:
        from django.apps import apps

        if apps.ready:
            from django.db import connections

            connections.close_all()
        with _admin_connection(server_url) as admin:
            force = sql.SQL(" WITH (FORCE)") if admin.info.server_version >= 130000 else sql.SQL("")
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force)
            )


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
