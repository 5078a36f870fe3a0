"""`make run`: set up and start the whole portal with embedded defaults, no servers needed.

Starts the Things API simulator, a Celery worker and beat (filesystem broker), and the web
server; prints how to sign in; Ctrl-C stops everything it started. Once everything is up, a child
that dies is reported and restarted (with a growing delay if it keeps crashing), so one crash does
not take the rest down. Running it again is safe: migrations and the demo data are idempotent,
and a port that is already taken is reported instead of half-starting.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass
class Child:
    """One supervised child; `delay` grows while it keeps crashing so a crash loop cannot spin."""

    name: str
    title: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    delay: float = RESTART_FIRST_DELAY_SECONDS
    restart_at: float = 0.0


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_until_answering(
    url: str, deadline: float, processes: list[subprocess.Popen[bytes]]
) -> bool:
    """Poll `url` until it answers (any HTTP status) or the deadline passes."""
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            return False
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - our own local URL
            return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def start(child: Child, env: dict[str, str]) -> None:
    child.started_at = time.monotonic()
    # Each child leads its own process group so a stop reaches its children too.
    child.process = subprocess.Popen(  # noqa: S603
        child.command, cwd=ROOT, env=env, start_new_session=True
    )
    command = " ".join(child.command)
    print(f"  starting {child.name} (pid {child.process.pid}): {command}", flush=True)


def how_it_stopped(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
        return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def schedule_restart(child: Child, now: float, what_happened: str) -> None:
    if now - child.started_at >= STABLE_AFTER_SECONDS:
        child.delay = RESTART_FIRST_DELAY_SECONDS
    print(
        f"The {child.title} {what_happened}; restarting it in {child.delay:g} s.",
        file=sys.stderr,
        flush=True,
    )
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
    elif now >= child.restart_at:
        try:
            start(child, env)
        except OSError as error:
            schedule_restart(child, now, f"could not be restarted ({error})")


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
            print(
                f"Port {wanted} on {host} (for the {name}) is already in use. Is `make run` "
                "already running? Stop it, or choose other ports: "
                "make run PORT=8080 SIMULATOR_PORT=8081",
                file=sys.stderr,
            )
            return 1

    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env["SIMULATOR_HOST"] = host
    env["SIMULATOR_PORT"] = str(simulator_port)
    env.setdefault("THINGS_API_URL", f"http://{host}:{simulator_port}")
    env.setdefault("PYTHONUNBUFFERED", "1")

    print("Things Portal: preparing the database and demo data", flush=True)
    manage("migrate", "--no-input", env=env)
    manage("seed_demo", env=env)

    print("Things Portal: starting", flush=True)
    celery = [PYTHON, "-m", "celery", "-A", "things_portal"]
    manage_py = [PYTHON, "manage.py"]
    children = [
        Child(
            "simulator",
            "Things API simulator",
            [*manage_py, "run_simulator", "--host", host, "--port", str(simulator_port)],
        ),
        Child("worker", "Celery worker", [*celery, "worker", "--loglevel", "INFO", "-c", "2"]),
        Child("beat", "Celery beat", [*celery, "beat", "--loglevel", "INFO"]),
        Child("web", "web server", [*manage_py, "runserver", f"{host}:{port}", "--noreload"]),
    ]
    interrupted = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for child in children:
            start(child, env)
        processes = [child.process for child in children if child.process is not None]
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        simulator_up = wait_until_answering(
            f"http://{host}:{simulator_port}/_sim/clock", deadline, processes
        )
        portal_up = simulator_up and wait_until_answering(
            f"http://{host}:{port}/", deadline, processes
        )
        if not portal_up:
            # A child that dies while starting is most likely misconfigured: restarting won't help.
            for child in children:
                if child.process is not None and (code := child.process.poll()) is not None:
                    print(
                        f"The {child.title} stopped while starting ({how_it_stopped(code)}).",
                        file=sys.stderr,
                    )
            print("Things Portal did not start; see the messages above.", file=sys.stderr)
            return 1
        manage("seed_demo", "--simulator", env=env)
        manage("seed_demo", "--print-sign-in", f"--portal-url=http://{host}:{port}", env=env)
        print("Press Ctrl-C to stop everything.", flush=True)
        while not interrupted:
            now = time.monotonic()
            for child in children:
                supervise(child, env, now)
            time.sleep(POLL_SECONDS)
        return 0
    finally:
        print("Things Portal: stopping", flush=True)
        stop_all([child.process for child in children if child.process is not None])


if __name__ == "__main__":
    sys.exit(main())
