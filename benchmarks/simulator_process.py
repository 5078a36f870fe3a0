"""The simulator in a process of its own, on the real clock, as the real API is to the portal:
its request log's times are when each request arrived there. Used by the benchmarks and the
tests that measure rates against it (tests import benchmarks, never the other way round)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from simulator.tokens import ALL_SCOPES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SimulatorProcess:
    url: str
    process: subprocess.Popen[str]

    def register_client(self, tenant_id: str, client_id: str, secret: str) -> None:
        httpx.post(
            f"{self.url}/_sim/clients",
            json={
                "tenantId": tenant_id,
                "clientId": client_id,
                "clientSecret": secret,
                "scopes": list(ALL_SCOPES),
            },
        ).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = httpx.get(f"{self.url}/_sim/requests").json()["items"]
        return items

    def creates(self, kind: str = "lora") -> list[dict[str, Any]]:
        """The creates it received, in the order they arrived."""
        path = f"/{kind}/downlinks"
        return [
            item for item in self.requests() if (item["method"], item["path"]) == ("POST", path)
        ]

    def arrivals(self, kind: str = "lora", status: int = 201) -> list[datetime]:
        return [
            datetime.fromisoformat(item["time"])
            for item in self.creates(kind)
            if item["status"] == status
        ]

    def clear_requests(self) -> None:
        httpx.delete(f"{self.url}/_sim/requests").raise_for_status()

    def fault(self, rule: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/_sim/faults", json=rule).raise_for_status()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def simulator_process(directory: Path, *, latency_ms: float = 0) -> Iterator[SimulatorProcess]:
    port = _free_port()
    env = {**os.environ, "SIMULATOR_DATABASE": str(directory / f"api-{port}.sqlite3")}
    process = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "run_simulator", "--port", str(port),
         "--latency-ms", str(latency_ms)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()  # written once the port is bound
        if f"on http://127.0.0.1:{port} " not in ready:
            raise RuntimeError(f"the simulator did not start: {ready!r}")
        yield SimulatorProcess(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)


def most_in_any_second(times: list[datetime]) -> int:
    """The most of `times` that fall in any window of one second (half-open)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while (moment - ordered[start]).total_seconds() >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most
