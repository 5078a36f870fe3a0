"""Celery as production runs it: `celery worker` and `celery beat` in processes of their own,
on the test's database and the configured broker (the filesystem broker locally, Redis in CI),
killed with SIGKILL where a test needs a crash; and Redis restarted."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.polling import wait_until
from tests.services import shared_database_url

REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def environment(**overrides: str) -> dict[str, str]:
    """The environment of a worker or beat on this test's database, with `overrides`."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=shared_database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        THINGS_PORTAL_VAR_DIR=str(settings.VAR_DIR),
        CELERY_FILESYSTEM_POLLING_INTERVAL="0.2",
        DEBUG="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._output = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "things_portal", *args],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)
        self._output.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._output.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def start_worker(env: dict[str, str], log: Path, processes: list[Process]) -> Process:
    worker = Process(
        "worker", ["worker", "--pool", "solo", "--loglevel", "INFO", "--without-heartbeat",
                   "--without-gossip", "--without-mingle"], env, log,
    )  # fmt: skip
    processes.append(worker)
    wait_until(lambda: " ready." in worker.text() or worker.popen.poll() is not None, timeout=60)
    assert worker.popen.poll() is None, worker.text()
    return worker


def start_beat(env: dict[str, str], tmp_path: Path, processes: list[Process]) -> Process:
    beat = Process(
        "beat", ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule")],
        env, tmp_path / "beat.log",
    )  # fmt: skip
    processes.append(beat)
    return beat


def restart_redis() -> None:
    url = settings.REDIS_URL
    subprocess.run(["redis-cli", "-u", url, "shutdown", "nosave"], check=False, capture_output=True)
    wait_until(
        lambda: (
            subprocess.run(["redis-cli", "-u", url, "ping"], capture_output=True).returncode != 0
        ),
        timeout=30,
    )
    subprocess.run(REDIS_START, check=True)
    wait_until(
        lambda: (
            subprocess.run(["redis-cli", "-u", url, "ping"], capture_output=True).stdout.strip()
            == b"PONG"
        ),
        timeout=30,
    )
