"""Fixtures shared by the whole suite, and the CI guard.

In CI (CI=true) the suite must run against the real services: PostgreSQL, Redis and the
system Chromium. If one is missing, the run fails at start instead of skipping what it was
meant to check.

The tests marked `slow` (real processes: make run, a killed worker, gunicorn, a clean venv)
run in CI and with `make test-all` (RUN_SLOW=1); a local `make test` leaves them out, and
says how many, so it stays well under ten minutes.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from simulator.app import SimulatorApp, create_app
from simulator.clock import ManualClock
from simulator.config import SimulatorSettings
from simulator.server import RunningSimulator, start_in_thread
from teams.connections import forget_clients
from tests.services import missing_ci_services

pytest_plugins = ["tests.teams.lighthouse"]


def _on(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _on("CI") or _on("RUN_SLOW") or config.getoption("-m"):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
        config.stash[_SLOW_LEFT_OUT] = len(slow)


_SLOW_LEFT_OUT = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    left_out = config.stash.get(_SLOW_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"{left_out} slow tests were left out (they run in CI; `make test-all` runs them)."
        )


def pytest_configure(config: pytest.Config) -> None:
    if _on("CI"):
        problems = missing_ci_services()
        if problems:
            raise pytest.UsageError(
                "CI needs these services and they are missing:\n  - " + "\n  - ".join(problems)
            )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium; browser tests skip with a message where there is none (not in CI)."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
    if not path:
        pytest.skip("no Chromium found (install Debian's chromium package); browser tests skipped")
    return path


@pytest.fixture(autouse=True)
def _fresh_api_clients() -> Iterator[None]:
    """API clients are cached per credential id and version, and ids repeat after a test's
    rollback: each test starts and ends without cached clients."""
    forget_clients()
    yield
    forget_clients()


@pytest.fixture(autouse=True)
def _example_hosts_allowed(settings: Any) -> None:
    """Tests that only store a credential name hosts under .example.test (a name reserved for
    tests, RFC 2606); the outbound policy allows them besides the simulator's host."""
    settings.THINGS_ALLOWED_HOSTS = [*settings.THINGS_ALLOWED_HOSTS, ".example.test"]


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_manifest() -> Iterator[None]:
    """Production serves hashed static files from a manifest built by collectstatic; tests
    serve them straight from the source folders instead of requiring that build step."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield


@pytest.fixture(autouse=True, scope="session")
def _audit_trail_flushable() -> Iterator[None]:
    """Transactional tests end with `flush`, which refuses to empty the audit trail unless
    AUDIT_ALLOW_FLUSH is on (audit/management/commands/flush.py): on for the tests only."""
    with override_settings(AUDIT_ALLOW_FLUSH=True):
        yield


# --- The Things API simulator (simulator/) -------------------------------------------------
# `simulator_app`: the WSGI app in process (in-memory store, a ManualClock frozen at the real
# now; call `.clock.advance(seconds)` instead of sleeping). `simulator`: the same kind of app
# served over HTTP on a random port with a temp-file store; it has `.url`, `.app`, `.clock`,
# `.store`, `.token(tenant="demo", scopes=...)` and `.token_url(tenant)`.


@pytest.fixture
def simulator_app() -> Iterator[SimulatorApp]:
    app = create_app(SimulatorSettings(database=":memory:"), clock=ManualClock())
    yield app
    app.store.close()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[RunningSimulator]:
    database = str(tmp_path / "simulator.sqlite3")
    app = create_app(SimulatorSettings(database=database), clock=ManualClock())
    running = start_in_thread(app)
    yield running
    running.stop()
    app.store.close()
