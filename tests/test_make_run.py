"""`make run` (scripts/run.py): starts everything with embedded defaults, prints how to sign
in, and Ctrl-C stops everything it started; a second run on the same folder works too."""

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def run_once(var_dir: Path, log: Path) -> str:
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
    with log.open("wb") as output:
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
        try:
            wait_until(
                lambda: (
                    "Press Ctrl-C" in log.read_text(errors="replace") or process.poll() is not None
                ),
                timeout=120,
            )
            assert process.poll() is None, log.read_text()
            assert answers(f"http://127.0.0.1:{port}/accounts/sign-in/")
            assert answers(f"http://127.0.0.1:{simulator_port}/_sim/clock")
            assert answers(f"http://127.0.0.1:{port}/healthz")
            started = descendants(process.pid)
            assert len(started) >= 4  # simulator, worker (and its pool), beat, web
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
    wait_until(lambda: not any(alive(pid) for pid in started), timeout=30)
    return log.read_text()


@pytest.mark.slow
def test_make_run_starts_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    first = run_once(tmp_path / "var", tmp_path / "first.log")
    assert "Sign in as" in first
    for username in ("admin", "oscar", "vera", "olga"):
        assert username in first
    second = run_once(tmp_path / "var", tmp_path / "second.log")
    assert "Sign in as" in second
