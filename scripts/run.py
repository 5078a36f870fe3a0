"""`make run`: set up and start the whole portal with embedded defaults, no servers needed.

Starts the Things API simulator, a Celery worker and beat (filesystem broker), and the web
server; prints how to sign in; Ctrl-C stops everything it started. Running it again is safe:
migrations and the demo data are idempotent, and a port that is already taken is reported
instead of half-starting.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 10.0
START_DEADLINE_SECONDS = 60.0


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


def start(name: str, command: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"  starting {name}: {' '.join(command)}", flush=True)
    # Each child leads its own process group so a stop reaches its children too.
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603


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
    processes: list[subprocess.Popen[bytes]] = []
    interrupted = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        processes.append(
            start(
                "simulator",
                [
                    PYTHON,
                    "manage.py",
                    "run_simulator",
                    "--host",
                    host,
                    "--port",
                    str(simulator_port),
                ],
                env,
            )
        )
        processes.append(
            start("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], env)
        )
        processes.append(start("beat", [*celery, "beat", "--loglevel", "INFO"], env))
        processes.append(
            start(
                "web",
                [PYTHON, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
                env,
            )
        )
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        simulator_up = wait_until_answering(
            f"http://{host}:{simulator_port}/_sim/clock", deadline, processes
        )
        portal_up = simulator_up and wait_until_answering(
            f"http://{host}:{port}/", deadline, processes
        )
        if not portal_up:
            print("Things Portal did not start; see the messages above.", file=sys.stderr)
            return 1
        manage("seed_demo", "--downlinks", env=env)
        manage("seed_demo", "--print-sign-in", f"--portal-url=http://{host}:{port}", env=env)
        print("Press Ctrl-C to stop everything.", flush=True)
        while not interrupted:
            exited = [process for process in processes if process.poll() is not None]
            if exited:
                print(
                    f"A process stopped unexpectedly ({exited[0].args!r}); stopping the rest.",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("Things Portal: stopping", flush=True)
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
