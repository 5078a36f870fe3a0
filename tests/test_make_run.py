"""`make run` (scripts/run.py): starts everything with embedded defaults; the terminal shows only
its own short lines (each part logs to var/log/), with how to sign in last, once every part
answers; the start logs no error; the simulator's demo timings are slow enough to try things
by hand; Ctrl-C stops everything it started; a second run on the same folder works too."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from tests.polling import wait_until
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("simulator", "worker", "beat", "web")
SIGN_IN_START = "Things Portal is running on"
SIGN_IN_END = re.compile(r"^  \(kept in .*\)$", re.MULTILINE)
# What the children say, which the terminal must not show: Celery's banner and task lines,
# request logs, the development server's greeting, migrations, log levels.
NOISE = (
    "celery@",
    "[tasks]",
    "[queues]",
    "-------------- ",
    "beat: Starting",
    "Task downlinks",
    "HTTP/1.1",
    "simulator.requests",
    "things_api",
    "Performing system checks",
    "Quit the server",
    "Applying ",
    "Operations to perform",
    "Traceback",
    "ERROR",
    "WARNING",
)


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
    """Each child `make run` started, in order, from its "started NAME (pid N)" line."""
    return [(name, int(pid)) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)]


def part_log(var_dir: Path, name: str) -> str:
    return (var_dir / "log" / f"{name}.log").read_text(errors="replace")


def since_last_start(var_dir: Path, name: str) -> str:
    """What the part wrote since run.py last started it (each start writes a header first)."""
    return part_log(var_dir, name).rpartition(f"===== run.py: starting {name}")[2]


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    port: int
    simulator_port: int
    var_dir: Path
    terminal: Path

    @property
    def simulator(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    def said(self) -> str:
        return self.terminal.read_text(errors="replace")


def launch(
    var_dir: Path, output: BinaryIO, extra_env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start `make run` on free ports and its own folder; all it says goes to `output`."""
    port, simulator_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG"} and not key.startswith("SIMULATOR_")
    }
    env["THINGS_PORTAL_VAR_DIR"] = str(var_dir)
    env["THINGS_API_URL"] = f"http://127.0.0.1:{simulator_port}"
    env["THINGS_TOKEN_URL"] = (
        f"http://127.0.0.1:{simulator_port}/v2/{{tenant_id}}/oidc/idp/c1/token"
    )
    env["SIMULATOR_DATABASE"] = str(var_dir / "simulator.sqlite3")
    env.update(extra_env)
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


def everything_answers(running: Running) -> None:
    """The web server and the simulator answer HTTP; the worker said it is ready and beat that
    it started, each since its latest start."""
    assert answers(f"http://127.0.0.1:{running.port}/accounts/sign-in/")
    assert answers(f"{running.simulator}/_sim/clock")
    assert re.search(r"celery@\S+ ready\.", since_last_start(running.var_dir, "worker"))
    assert "beat: Starting..." in since_last_start(running.var_dir, "beat")


@contextmanager
def make_run(
    var_dir: Path, terminal: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Running]:
    """`make run`, up: it has printed how to sign in, and at that moment every part answers.
    Stopped on the way out if it is still running then (a failed test leaves no children)."""
    with terminal.open("wb") as output:
        process, port, simulator_port = launch(var_dir, output, extra_env or {})
        running = Running(process, port, simulator_port, var_dir, terminal)
        try:
            wait_until(
                lambda: SIGN_IN_END.search(running.said()) or process.poll() is not None,
                timeout=120,
            )
            assert process.poll() is None, running.said()
            everything_answers(running)
            yield running
        finally:
            if process.poll() is None:
                stop_or_kill(process, running.said())


def stop_or_kill(process: subprocess.Popen[bytes], said: str) -> None:
    """Ctrl-C (which stops what it started), else kill it and the groups its children lead."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        for _, pid in children_started(said):
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def stop_with_ctrl_c(process: subprocess.Popen[bytes], started: set[int]) -> None:
    """Ctrl-C: `make run` exits cleanly, and the processes it `started` all end."""
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    wait_until(lambda: not any(alive(pid) for pid in started), timeout=30)


def assert_quiet_terminal(said: str, var_dir: Path) -> None:
    """Only run.py's own lines; how to sign in the last of them until Ctrl-C, after every
    part was started and answered; where the logs are."""
    for noise in NOISE:
        assert noise not in said, f"{noise!r} on the terminal:\n{said}"
    assert f"{var_dir / 'log'}/" in said
    until_stop, stopping, _ = said.partition("Things Portal: stopping")
    assert stopping, said
    assert until_stop.count(SIGN_IN_START) == 1, said
    before, _, sign_in = until_stop.partition(SIGN_IN_START)
    assert [name for name, _ in children_started(before)] == list(PARTS), said
    assert "every part answers" in before
    assert "Sign in as" in sign_in
    for username in ("admin", "oscar", "vera", "olga"):
        assert f"    {username} " in sign_in
    last = SIGN_IN_END.search(sign_in)
    assert last is not None, said
    # Nothing after it, though the test made requests and the children logged meanwhile.
    assert sign_in[last.end() :].strip() == "", said


def assert_clean_logs(var_dir: Path) -> None:
    """The parts' output is in var/log/, one file each, and none of it is an error."""
    logs = {path.stem: path.read_text(errors="replace") for path in (var_dir / "log").glob("*.log")}
    assert set(logs) == {"setup", *PARTS}
    assert re.search(r"celery@\S+ ready\.", logs["worker"])
    assert "beat: Starting..." in logs["beat"]
    assert '"GET /accounts/sign-in/ HTTP/1.1" 200' in logs["web"]
    assert "Things API simulator on" in logs["simulator"]
    for name, text in logs.items():
        errors = [line for line in text.splitlines() if re.search(r"\bERROR\b", line)]
        assert not errors, f"{name}.log: {errors}"


def printed_timings(said: str) -> tuple[float, float]:
    found = re.search(r"PENDING (\S+) s, then EXECUTING (\S+) s", said)
    assert found, said
    return float(found[1]), float(found[2])


def lifecycle(simulator: str) -> tuple[float, float]:
    """How long the running simulator keeps a new downlink PENDING, then EXECUTING: from the
    downlink's own createdAt and modifiedAt as the simulator's clock is moved on a second at
    a time through its control API, so nothing waits."""

    def moment(stamp: str) -> datetime:
        return datetime.fromisoformat(stamp)

    with httpx.Client(base_url=simulator, timeout=5) as client:
        minted = client.post("/_sim/tokens", json={"tenantId": "make-run-test"})
        api = {"Authorization": f"Bearer {minted.json()['access_token']}"}
        body = {
            "deviceId": "deveui:0004a30b001c05ff",
            "message": {"payloadHex": "0102", "fPort": 3},
            "feedbackTimeout": "PT10M",
        }
        created = client.post("/lora/downlinks", json=body, headers=api)
        assert created.status_code == 201, created.text
        first: dict[str, dict[str, str]] = {created.json()["status"]: created.json()}
        assert set(first) == {"PENDING"}
        for _ in range(3600):
            if "DONE" in first:
                break
            assert client.post("/_sim/clock", json={"advanceSeconds": 1}).status_code == 200
            now = client.get(created.headers["Location"], headers=api).json()
            first.setdefault(now["status"], now)
    assert {"EXECUTING", "DONE"} <= set(first), first
    executing_at = moment(first["EXECUTING"]["modifiedAt"])
    pending = executing_at - moment(first["PENDING"]["createdAt"])
    executing = moment(first["DONE"]["modifiedAt"]) - executing_at
    return pending.total_seconds(), executing.total_seconds()


def age_the_portal(var_dir: Path) -> int:
    """As after a break of an hour: the portal's work and its last sync an hour older; and
    beat's schedule gone, so beat's first cycle is a whole interval away. Returns how many
    downlinks the poller still follows."""
    (var_dir / "celerybeat-schedule").unlink(missing_ok=True)
    with closing(sqlite3.connect(var_dir / "portal.sqlite3")) as db, db:
        db.execute("UPDATE downlinks_downlink SET created_at = datetime(created_at, '-1 hour')")
        db.execute(
            "UPDATE downlinks_syncstate SET last_success_at = datetime(last_success_at, '-1 hour')"
        )
        (followed,) = db.execute(
            "SELECT count(*) FROM downlinks_downlink WHERE remote_id IS NOT NULL "
            "AND send_state = 'sent' AND status != 'DONE'"
        ).fetchone()
    return int(followed)


@pytest.mark.slow
def test_make_run_starts_quietly_says_how_to_sign_in_last_and_ctrl_c_stops_it(
    tmp_path: Path,
) -> None:
    var_dir = tmp_path / "var"
    with make_run(var_dir, tmp_path / "first.txt") as running:
        assert answers(f"http://127.0.0.1:{running.port}/healthz")
        started = descendants(running.process.pid)
        assert len(started) >= 4  # simulator, worker (and its pool), beat, web
        stop_with_ctrl_c(running.process, started)
    assert_quiet_terminal(running.said(), var_dir)
    assert_clean_logs(var_dir)
    # The demo downlinks are PENDING for a minute: the portal still follows them.
    assert age_the_portal(var_dir) > 0

    # Again on the same folder, after the "break", with timings from the environment.
    timings = {"SIMULATOR_PENDING_SECONDS": "7", "SIMULATOR_EXECUTING_SECONDS": "9"}
    with make_run(var_dir, tmp_path / "second.txt", timings) as running:
        # Healthy on the first ask: the poller caught up before the web server answered.
        health = httpx.get(f"http://127.0.0.1:{running.port}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert printed_timings(running.said()) == (7, 9)
        assert lifecycle(running.simulator) == (7, 9)
        stop_with_ctrl_c(running.process, descendants(running.process.pid))
    assert_quiet_terminal(running.said(), var_dir)
    assert_clean_logs(var_dir)


@pytest.mark.slow
def test_make_run_demo_timings_are_slow_enough_to_try_by_hand(tmp_path: Path) -> None:
    with make_run(tmp_path / "var", tmp_path / "run.txt") as running:
        pending, executing = printed_timings(running.said())
        # Time to open a downlink and cancel it normally, and then to try a forced cancel.
        assert pending >= 30
        assert executing >= 30
        assert lifecycle(running.simulator) == (pending, executing)
        stop_with_ctrl_c(running.process, descendants(running.process.pid))


@pytest.mark.slow
def test_make_run_restarts_a_child_that_dies_and_keeps_the_others(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    with make_run(var_dir, tmp_path / "run.txt") as running:
        process, said = running.process, running.said

        def workers() -> list[int]:
            return [pid for name, pid in children_started(said()) if name == "worker"]

        first = dict(children_started(said()))
        assert set(first) == set(PARTS), said()
        old_worker = first["worker"]
        seen = descendants(process.pid)
        old_group = {pid for pid in seen if process_group(pid) == old_worker}
        assert old_worker in old_group  # the worker leads its group, with its pool in it

        os.killpg(old_worker, signal.SIGKILL)

        wait_until(lambda: len(workers()) == 2 and alive(workers()[1]), timeout=30)
        new_worker = workers()[1]
        assert new_worker != old_worker
        report = said().partition(
            "The Celery worker stopped unexpectedly (killed by SIGKILL); restarting it in 1 s.\n"
        )[2]
        assert report, said()
        # Why it died: the end of its log, as it was when it died.
        assert report.startswith(f"  The end of {var_dir / 'log' / 'worker.log'}:\n"), said()
        shown = re.findall(r"^    \| (.*)$", report.split("  started worker")[0], re.MULTILINE)
        first_worker = part_log(var_dir, "worker").split("===== run.py: starting worker")[1]
        written = [line.rstrip() for line in first_worker.splitlines() if line.strip()]
        assert shown, said()
        assert written[-len(shown) :] == shown, said()
        wait_until(lambda: not any(alive(pid) for pid in old_group), timeout=10)
        # The new worker really comes up: "ready" after its start header can only be its own.
        assert part_log(var_dir, "worker").count("===== run.py: starting worker") == 2
        wait_until(
            lambda: re.search(r"celery@\S+ ready\.", since_last_start(var_dir, "worker")),
            timeout=60,
        )
        assert alive(new_worker)
        assert process.poll() is None, said()
        assert answers(f"http://127.0.0.1:{running.port}/accounts/sign-in/")
        # Only the worker was restarted: the others kept their first (and only) pid.
        others = [(name, pid) for name, pid in children_started(said()) if name != "worker"]
        assert sorted(others) == sorted(
            (name, first[name]) for name in ("simulator", "beat", "web")
        )
        assert all(alive(pid) for _, pid in others)
        assert said().count("stopped unexpectedly") == 1, said()

        stop_with_ctrl_c(process, seen | descendants(process.pid))
