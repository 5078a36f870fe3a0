"""`make run`: set up and start the whole portal with embedded defaults, no servers needed.

Starts the Things API simulator, a Celery worker and beat (filesystem broker), and the web
server; Ctrl-C stops everything it started. Each part's output goes to its own file under
var/log/, so the terminal shows only what this script says: what it started, a part that died
(with the end of its log), and, last, once every part answers, how to sign in. Once everything
is up, a child that dies is reported and restarted (with a growing delay if it keeps
crashing), so one crash does not take the rest down. Running it again is safe: migrations and
the demo data are idempotent, and a port that is already taken is reported instead of
half-starting.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 10.0
START_DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.2
RESTART_FIRST_DELAY_SECONDS = 1.0
RESTART_MAX_DELAY_SECONDS = 30.0
# A child that stayed up this long before dying is not crash-looping: restart it quickly again.
STABLE_AFTER_SECONDS = 60.0
TAIL_LINES = 12
# Slow enough to try every action by hand (a normal cancel while PENDING, a forced one while
# EXECUTING); the environment overrides them, and the tests' own simulators keep fast ones.
DEMO_TIMINGS = {"SIMULATOR_PENDING_SECONDS": "60", "SIMULATOR_EXECUTING_SECONDS": "60"}
# Written into a child's log before each start, so its output since can be told apart.
LOG_HEADER = "===== run.py: starting {name}"
# The poller's first cycle, before the web server answers: after a break the last sync is old,
# and /healthz would answer 503 (logged as an ERROR) until beat's first cycle had run. A team
# whose poll the worker is running already (beat's due cycle) is polled again once that ends.
FIRST_SYNC = """
import time
from downlinks import polling
for team_id in polling.teams_with_work():
    for _ in range(100):
        report = polling.poll_team(team_id)
        if not report.skipped:
            break
        time.sleep(0.2)
    print(report)
"""


@dataclass
class Child:
    """One supervised child; `delay` grows while it keeps crashing so a crash loop cannot spin.
    `ready` says whether it answers (an HTTP probe, or a line in its log)."""

    name: str
    title: str
    command: list[str]
    log: Path
    ready: Callable[[Child], bool]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    delay: float = RESTART_FIRST_DELAY_SECONDS
    restart_at: float = 0.0

    def output_since_start(self) -> str:
        """What the child wrote since its latest start."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text.rpartition(LOG_HEADER.format(name=self.name))[2]


def shown(path: Path) -> str:
    """A path as short as it can be said: relative to the current folder when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def say(message: str, *, error: bool = False) -> None:
    print(message, file=sys.stderr if error else sys.stdout, flush=True)


def tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last lines of a log, read from its end (a log of a long run can be large)."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            start = max(0, size - 16384)
            file.seek(start)
            text = file.read().decode(errors="replace")
    except OSError:
        return []
    found = text.splitlines()[1 if start else 0 :]
    return [line.rstrip() for line in found if line.strip()][-lines:]


def say_tail(path: Path) -> None:
    lines = tail(path)
    if not lines:
        say(f"  ({shown(path)} is empty)", error=True)
        return
    say(f"  The end of {shown(path)}:", error=True)
    for line in lines:
        say(f"    | {line}", error=True)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def answers(url: str) -> bool:
    """Whether `url` answers at all (any HTTP status)."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own local URL
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def answers_at(url: str) -> Callable[[Child], bool]:
    return lambda child: answers(url)


def has_logged(pattern: str) -> Callable[[Child], bool]:
    """Ready once the child's log since its start matches `pattern`."""
    return lambda child: re.search(pattern, child.output_since_start()) is not None


def manage(
    *args: str, env: dict[str, str], log: Path | None = None, what: str | None = None
) -> bool:
    """`manage.py args`, its output appended to `log` (or to the terminal): whether it worked.
    A failure is reported, as `what` (the command by default), with the end of the log."""
    command = [PYTHON, "manage.py", *args]
    if log is None:
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode == 0  # noqa: S603
    what = what or f"manage.py {' '.join(args)}"
    with log.open("ab") as output:
        output.write(f"===== run.py: {what}\n".encode())
        output.flush()
        code = subprocess.run(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, check=False
        ).returncode
    if code != 0:
        say(f"{what} failed ({how_it_stopped(code)}).", error=True)
        say_tail(log)
    return code == 0


def start(child: Child, env: dict[str, str]) -> None:
    child.started_at = time.monotonic()
    with child.log.open("ab") as output:
        when = datetime.now().astimezone().isoformat(timespec="seconds")
        header = LOG_HEADER.format(name=child.name)
        output.write(f"{header} at {when}: {' '.join(child.command)}\n".encode())
        output.flush()
        # Each child leads its own process group so a stop reaches its children too.
        child.process = subprocess.Popen(  # noqa: S603
            child.command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    say(f"  started {child.name} (pid {child.process.pid})")


def how_it_stopped(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
        return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def schedule_restart(child: Child, now: float, what_happened: str) -> None:
    if now - child.started_at >= STABLE_AFTER_SECONDS:
        child.delay = RESTART_FIRST_DELAY_SECONDS
    say(f"The {child.title} {what_happened}; restarting it in {child.delay:g} s.", error=True)
    child.restart_at = now + child.delay
    child.delay = min(child.delay * 2, RESTART_MAX_DELAY_SECONDS)


def supervise(child: Child, env: dict[str, str], now: float) -> None:
    """Notice a dead child, or restart it once its delay is over; never waits, so the caller
    keeps noticing Ctrl-C and the other children."""
    if child.process is not None:
        returncode = child.process.poll()
        if returncode is None:
            return
        # A killed Celery worker leaves its pool behind; clear its group before starting anew.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process = None
        schedule_restart(child, now, f"stopped unexpectedly ({how_it_stopped(returncode)})")
        say_tail(child.log)
    elif now >= child.restart_at:
        try:
            start(child, env)
        except OSError as error:
            schedule_restart(child, now, f"could not be restarted ({error})")


def wait_until_ready(
    children: Sequence[Child], deadline: float, interrupted: Callable[[], bool]
) -> bool:
    """Wait until every child answers; False as soon as one stops, at Ctrl-C or the deadline."""
    waiting = list(children)
    while waiting:
        if interrupted() or time.monotonic() >= deadline:
            return False
        if any(child.process is None or child.process.poll() is not None for child in children):
            return False
        waiting = [child for child in waiting if not child.ready(child)]
        if waiting:
            time.sleep(POLL_SECONDS)
    return True


def report_failed_start(children: Sequence[Child]) -> None:
    """A child that dies while starting is most likely misconfigured: restarting won't help.
    Say which one, and why (the end of its log); or which ones never answered."""
    dead = [
        (child, code)
        for child in children
        if child.process is not None and (code := child.process.poll()) is not None
    ]
    for child, code in dead:
        say(f"The {child.title} stopped while starting ({how_it_stopped(code)}).", error=True)
        say_tail(child.log)
    if not dead:
        for child in children:
            if child.process is not None and not child.ready(child):
                say(f"The {child.title} did not answer in time.", error=True)
                say_tail(child.log)
    say("Things Portal did not start; see the messages above.", error=True)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """Ask each process to stop (a Celery worker then stops its pool itself), and kill the
    whole process group of any that has not stopped after a grace period."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        remaining = max(0.0, deadline - time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=remaining)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers in its group, if any
        process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--simulator-port", type=int, default=8001)
    options = parser.parse_args(argv)

    host, port, simulator_port = options.host, options.port, options.simulator_port
    for name, wanted in (("portal", port), ("simulator", simulator_port)):
        if not port_is_free(host, wanted):
            say(
                f"Port {wanted} on {host} (for the {name}) is already in use. Is `make run` "
                "already running? Stop it, or choose other ports: "
                "make run PORT=8080 SIMULATOR_PORT=8081",
                error=True,
            )
            return 1

    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env["SIMULATOR_HOST"] = host
    env["SIMULATOR_PORT"] = str(simulator_port)
    env.setdefault("THINGS_API_URL", f"http://{host}:{simulator_port}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    for name, value in DEMO_TIMINGS.items():
        env.setdefault(name, value)

    # Where the settings put var/ (THINGS_PORTAL_VAR_DIR, relative to the project).
    var_dir = ROOT / env.get("THINGS_PORTAL_VAR_DIR", "var")
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    setup_log = log_dir / "setup.log"
    for old in log_dir.glob("*.log"):
        old.write_bytes(b"")  # each run's logs start empty

    say(f"Things Portal: preparing the database and demo data (log: {shown(setup_log)})")
    if not (manage("migrate", "--no-input", env=env, log=setup_log)):
        return 1
    if not manage("seed_demo", env=env, log=setup_log):
        return 1

    say(f"Things Portal: starting; each part logs to {shown(log_dir)}/<part>.log")
    celery = [PYTHON, "-m", "celery", "-A", "things_portal"]
    manage_py = [PYTHON, "manage.py"]
    simulator, worker, beat, web = children = [
        Child(
            "simulator",
            "Things API simulator",
            [*manage_py, "run_simulator", "--host", host, "--port", str(simulator_port)],
            log_dir / "simulator.log",
            answers_at(f"http://{host}:{simulator_port}/_sim/clock"),
        ),
        Child(
            "worker",
            "Celery worker",
            [*celery, "worker", "--loglevel", "INFO", "-c", "2"],
            log_dir / "worker.log",
            has_logged(r"celery@\S+ ready\."),
        ),
        Child(
            "beat",
            "Celery beat",
            [*celery, "beat", "--loglevel", "INFO"],
            log_dir / "beat.log",
            has_logged(r"beat: Starting\.\.\."),
        ),
        Child(
            "web",
            "web server",
            [*manage_py, "runserver", f"{host}:{port}", "--noreload"],
            log_dir / "web.log",
            # Not /healthz: its 503 while the poller catches up is logged as an ERROR.
            answers_at(f"http://{host}:{port}/"),
        ),
    ]
    interrupted = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for child in (simulator, worker, beat):
            start(child, env)
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        if not wait_until_ready([simulator], deadline, lambda: interrupted):
            if not interrupted:
                report_failed_start(children)
            return 0 if interrupted else 1
        if not manage("seed_demo", "--simulator", env=env, log=setup_log):
            return 1
        if not manage("seed_demo_campaign", env=env, log=setup_log):
            return 1
        first_sync = "the poller's first cycle"
        if not manage(
            "shell", "--no-imports", "-c", FIRST_SYNC, env=env, log=setup_log, what=first_sync
        ):
            say("  The worker tries again on beat's schedule.", error=True)
        start(web, env)
        if not wait_until_ready(children, deadline, lambda: interrupted):
            if not interrupted:
                report_failed_start(children)
            return 0 if interrupted else 1
        pending = env["SIMULATOR_PENDING_SECONDS"]
        executing = env["SIMULATOR_EXECUTING_SECONDS"]
        say("Things Portal: every part answers.")
        logs = ", ".join([setup_log.name, *(child.log.name for child in children)])
        say(f"  Logs in {shown(log_dir)}/: {logs}")
        say(f"  Simulator: a downlink stays PENDING {pending} s, then EXECUTING {executing} s")
        say("    (to change: SIMULATOR_PENDING_SECONDS=5 SIMULATOR_EXECUTING_SECONDS=10 make run)")
        say("  Ctrl-C stops everything.")
        manage("seed_demo", "--print-sign-in", f"--portal-url=http://{host}:{port}", env=env)
        while not interrupted:
            now = time.monotonic()
            for child in children:
                supervise(child, env, now)
            time.sleep(POLL_SECONDS)
        return 0
    finally:
        say("Things Portal: stopping")
        stop_all([child.process for child in children if child.process is not None])
        say(f"Things Portal: stopped (logs in {shown(log_dir)}/)")


if __name__ == "__main__":
    sys.exit(main())
