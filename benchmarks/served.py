"""The portal served as production serves it, for benchmarks that measure it end to end.

`portal_under_gunicorn` starts `gunicorn -c python:things_portal.gunicorn_conf
things_portal.wsgi` (gthread workers, the access log on) as a process of its own, bound to a
unix socket, so the portal's time is not mixed by the GIL with the benchmark's client or the
simulator (both in the benchmark's process). The environment is inherited: a benchmark's
`use_throwaway_database` has put the database, DEBUG=false and SERVER_TIMING=true there;
`portal_environment` gives what a server needs to serve the portal that this process's
Django is set up on (under pytest-django: the test database and this process's keys).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The Host the clients send: in the portal's default ALLOWED_HOSTS, and in the benchmarks'.
HOST = "127.0.0.1"
BASE_URL = f"http://{HOST}"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class Served:
    """A running gunicorn: where it listens and where its log goes."""

    socket: Path
    log: Path
    process: subprocess.Popen[bytes]

    def client(self, **options: Any) -> httpx.Client:
        """A keep-alive client of its own against the portal (`options`: httpx.Client's)."""
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.socket)), base_url=BASE_URL, **options
        )

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if not self.log.exists():
            return "(no log)"
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(the log is empty)"

    def problems(self) -> list[str]:
        """The log's lines that say a worker failed (a traceback, a timeout, a boot error)."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        markers = ("Traceback", "WORKER TIMEOUT", "Worker failed to boot", "[ERROR]")
        return [line for line in text.splitlines() if any(m in line for m in markers)]


def database_url_of_this_django() -> str:
    """The database this process's Django uses, as a DATABASE_URL for another process (under
    pytest-django that is the test database, which the environment does not name)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if str(db["NAME"]).startswith(":memory:") or "mode=memory" in str(db["NAME"]):
            raise RuntimeError("an in-memory SQLite database cannot be served by another process")
        return f"sqlite:///{db['NAME']}"
    if connection.vendor != "postgresql":
        raise RuntimeError(f"no DATABASE_URL for a {connection.vendor} database")
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def portal_environment(directory: Path) -> dict[str, str]:
    """What a server of its own needs to serve the portal this process's Django is set up
    on: the same database, keys and var folder (so it reads the sessions and decrypts the
    credentials this process wrote), production's DEBUG=false with the Server-Timing header
    on, and static files with their manifest (collected under `directory` unless
    STATIC_ROOT in the environment already has one, as use_throwaway_database leaves it)."""
    from django.conf import settings

    environment = {
        "DATABASE_URL": database_url_of_this_django(),
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "AUDIT_CHAIN_KEYS": ",".join(settings.AUDIT_CHAIN_KEYS),
        "THINGS_PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "DEBUG": "false",
        "SERVER_TIMING": "true",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    static_root = os.environ.get("STATIC_ROOT", "")
    if not static_root or not (Path(static_root) / "staticfiles.json").exists():
        static_root = str(directory / "static")
        collected = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **environment, "STATIC_ROOT": static_root},
            capture_output=True,
            text=True,
            check=False,
        )
        if collected.returncode != 0:
            raise RuntimeError(f"collectstatic failed:\n{collected.stdout}{collected.stderr}")
    environment["STATIC_ROOT"] = static_root
    allowed = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    if allowed and HOST not in allowed:
        environment["ALLOWED_HOSTS"] = ",".join([*allowed, HOST])
    return environment


def _answers(socket: Path) -> bool:
    """Whether the server answers HTTP at all (/healthz: 200 or 503, before host checks)."""
    try:
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket)), base_url=BASE_URL, timeout=2.0
        ) as client:
            client.get("/healthz")
    except httpx.TransportError:
        return False
    return True


@contextmanager
def portal_under_gunicorn(
    directory: Path,
    *,
    workers: int | None = 1,
    threads: int | None = 1,
    settings_module: str | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    """gunicorn as production runs it, in a process of its own, bound to a unix socket in
    `directory` (its stdout and stderr, the access log among them, to gunicorn.log there).

    `workers`/`threads` set GUNICORN_WORKERS/GUNICORN_THREADS; None leaves them to
    things_portal/gunicorn_conf.py (its defaults, or what the environment says).
    `settings_module` replaces DJANGO_SETTINGS_MODULE; `environment` adds to the inherited
    one (e.g. `portal_environment()`). Ready when it answers HTTP; on exit it is sent
    SIGTERM (gunicorn's graceful stop) and killed if it has not stopped in time.
    """
    socket = directory / "portal.sock"
    log_path = directory / "gunicorn.log"
    socket.unlink(missing_ok=True)
    env = {
        **os.environ,
        **(environment or {}),
        "GUNICORN_BIND": f"unix:{socket}",
        "PYTHONUNBUFFERED": "1",  # the log is complete when the process dies
    }
    if workers is not None:
        env["GUNICORN_WORKERS"] = str(workers)
    if threads is not None:
        env["GUNICORN_THREADS"] = str(threads)
    if settings_module is not None:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:things_portal.gunicorn_conf",
        "things_portal.wsgi",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in a process group of their own, to kill
        )
    served = Served(socket=socket, log=log_path, process=process)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (socket.exists() and _answers(socket)):
            if process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with status {process.returncode} before it answered; "
                    f"its log ({log_path}) ends:\n{served.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn did not answer within {STARTUP_SECONDS:.0f} s; its log "
                    f"({log_path}) ends:\n{served.log_tail()}"
                )
            time.sleep(0.05)
        yield served
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn stops its workers gracefully), then SIGKILL to its process group
    (the arbiter and its workers, none left behind) if that takes too long."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_SECONDS)
