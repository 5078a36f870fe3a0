"""`make run` (scripts/run.py): starts everything with embedded defaults, prints how to sign
in, and Ctrl-C stops everything it started; a second run on the same folder works too."""

import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.polling import wait_until
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
            return bool(response.status == 200)
    except OSError:
        return False


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def process_group(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[2])


def children_started(output: str) -> list[tuple[str, int]]:
    """Each child `make run` started, in order, from its "starting NAME (pid N)" line."""
    return [(name, int(pid)) for name, pid in re.findall(r"starting (\w+) \(pid (\d+)\)", output)]


def launch(var_dir: Path, output: BinaryIO) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start `make run` on free ports and its own folder; all it says goes to `output`."""
    port, simulator_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}
    }
    env["THINGS_PORTAL_VAR_DIR"] = str(var_dir)
    env["THINGS_API_URL"] = f"http://127.0.0.1:{simulator_port}"
    env["THINGS_TOKEN_URL"] = (
        f"http://127.0.0.1:{simulator_port}/v2/{{tenant_id}}/oidc/idp/c1/token"
    )
    env["SIMULATOR_DATABASE"] = str(var_dir / "simulator.sqlite3")
    process = subprocess.Popen(
        [
            sys.executable,
            "scripts/run.py",
            "--port",
            str(port),
            "--simulator-port",
            str(simulator_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    return process, port, simulator_port


def wait_until_up(process: subprocess.Popen[bytes], log: Path) -> None:
    wait_until(
        lambda: "Press Ctrl-C" in log.read_text(errors="replace") or process.poll() is not None,
        timeout=120,
    )
    assert process.poll() is None, log.read_text()


@contextmanager
def make_run(var_dir: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    """`make run`, up (see `launch`); killed on the way out if it is still running then."""
    with log.open("wb") as output:
        process, port, simulator_port = launch(var_dir, output)
        try:
            wait_until_up(process, log)
            yield process, port, simulator_port
        finally:
            if process.poll() is None:
                process.kill()


def stop_with_ctrl_c(process: subprocess.Popen[bytes], started: set[int]) -> None:
    """Ctrl-C: `make run` exits cleanly, and the processes it `started` all end."""
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    wait_until(lambda: not any(alive(pid) for pid in started), timeout=30)


def run_once(var_dir: Path, log: Path) -> str:
    with make_run(var_dir, log) as (process, port, simulator_port):
        assert answers(f"http://127.0.0.1:{port}/accounts/sign-in/")
        assert answers(f"http://127.0.0.1:{simulator_port}/_sim/clock")
        assert answers(f"http://127.0.0.1:{port}/healthz")
        started = descendants(process.pid)
        assert len(started) >= 4  # simulator, worker (and its pool), beat, web
        stop_with_ctrl_c(process, started)
    return log.read_text()


@pytest.mark.slow
def test_make_run_starts_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    first = run_once(tmp_path / "var", tmp_path / "first.log")
    assert "Sign in as" in first
    for username in ("admin", "oscar", "vera", "olga"):
        assert username in first
    second = run_once(tmp_path / "var", tmp_path / "second.log")
    assert "Sign in as" in second


@pytest.mark.slow
def test_make_run_restarts_a_child_that_dies_and_keeps_the_others(tmp_path: Path) -> None:
    log = tmp_path / "run.log"

    def said() -> str:
        return log.read_text(errors="replace")

    def workers() -> list[int]:
        return [pid for name, pid in children_started(said()) if name == "worker"]

    with make_run(tmp_path / "var", log) as (process, port, _):
        first = dict(children_started(said()))
        assert set(first) == {"simulator", "worker", "beat", "web"}, said()
        old_worker = first["worker"]
        seen = descendants(process.pid)
        old_group = {pid for pid in seen if process_group(pid) == old_worker}
        assert old_worker in old_group  # the worker leads its group, with its pool in it

        os.killpg(old_worker, signal.SIGKILL)

        wait_until(lambda: len(workers()) == 2 and alive(workers()[1]), timeout=30)
        new_worker = workers()[1]
        assert new_worker != old_worker
        assert (
            "The Celery worker stopped unexpectedly (killed by SIGKILL); restarting it in 1 s."
        ) in said()
        wait_until(lambda: not any(alive(pid) for pid in old_group), timeout=10)
        # The new worker really comes up: "ready" after its start line can only be its own.
        wait_until(
            lambda: re.search(
                r"celery@\S+ ready\.", said().split(f"starting worker (pid {new_worker})")[1]
            ),
            timeout=60,
        )
        assert alive(new_worker)
        assert process.poll() is None, said()
        assert answers(f"http://127.0.0.1:{port}/accounts/sign-in/")
        # Only the worker was restarted: the others kept their first (and only) pid.
        others = [(name, pid) for name, pid in children_started(said()) if name != "worker"]
        assert sorted(others) == sorted(
            (name, first[name]) for name in ("simulator", "beat", "web")
        )
        assert all(alive(pid) for _, pid in others)
        assert said().count("stopped unexpectedly") == 1, said()

        stop_with_ctrl_c(process, seen | descendants(process.pid))
