"""Benchmark: campaigns as production runs them, end to end: the draft and preview as the page
makes them, a `celery worker` process sending, and the simulator in a process of its own with
20 ms of latency per call, its request log's arrival times the measure.

1. Rate: 1,000 devices at R = 50/s. The achieved rate (creates that arrived, over the time from
   the first to the last) against R, and the most creates in any one-second window. The naive
   way for comparison: the same creates sent one after the other from one thread (what a loop
   over the single send does), its rate in the same run.
2. Memory: the worker's peak resident memory (VmHWM) over a campaign of 1,000 rows and one of
   10,000 rows, each in a fresh worker (at a rate high enough to be quick, latency 0).
3. Preview: a 10,000-row campaign from a CSV with a value per device, through a template whose
   payload the water meter's codec makes (one codec call per row, and the duplicate guard).

Targets: achieved >= 0.95 R; never above R in any 1-s window; peak memory at 10,000 rows
<= 1.2x that at 1,000; the 10,000-row preview <= 30 s.

    .venv/bin/python -m benchmarks.campaign [--devices 1000] [--rate 50] [--big 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.simulator_process import (
    SimulatorProcess,
    most_in_any_second,
    simulator_process,
)
from benchmarks.throwaway import names_postgres, throwaway_postgres_database, use_throwaway_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 20
LORA_MESSAGE = {
    "payload": "01 02",
    "payload_format": "hex",
    "f_port": "7",
    "retry_limit": "0",
    "timeout_days": "0",
    "timeout_hours": "1",
    "timeout_minutes": "0",
}


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def lora_ids(count: int, start: int = 0) -> list[str]:
    return [f"deveui:{number:016x}" for number in range(start, start + count)]


class Worker:
    """`celery worker` in a process of its own, on this benchmark's database and broker."""

    def __init__(self, directory: Path, **settings: str) -> None:
        self.log = directory / f"worker-{time.monotonic_ns()}.log"
        self._output = self.log.open("wb")
        env = {
            **os.environ,
            "CELERY_FILESYSTEM_POLLING_INTERVAL": "0.1",
            "LOG_LEVEL": "WARNING",
            **settings,
        }
        self.process = subprocess.Popen(
            # As the compose file runs it: two processes.
            [sys.executable, "-m", "celery", "-A", "things_portal", "worker", "--concurrency",
             "2", "--loglevel", "INFO", "--without-heartbeat", "--without-gossip",
             "--without-mingle"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while " ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def peak_rss_mb(self) -> float:
        """The peak resident memory of the worker and its pool processes, added up."""
        pids = [self.process.pid]
        pids += [
            int(pid)
            for task in Path(f"/proc/{self.process.pid}/task").iterdir()
            for pid in (task / "children").read_text().split()
        ]
        total_kb = 0
        for pid in pids:
            status = Path(f"/proc/{pid}/status").read_text()
            line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
            total_kb += int(line.split()[1])
        return total_kb / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._output.close()


def make_team(api: SimulatorProcess, slug: str, rate: int) -> Any:
    """A team whose credential the simulator process accepts, sending campaigns at `rate`."""
    from audit.trail import Origin
    from benchmarks.simulated_team import client_credentials
    from simulator.config import DEFAULT_AUDIENCE
    from teams import services

    origin = Origin.system("benchmark")
    team = services.team_create(slug=slug, name=slug.capitalize(), origin=origin)
    secret = f"{slug}-client-secret-value"
    api.register_client(slug, f"{slug}-portal", secret)
    client_credentials(
        team,
        api.url,
        tenant_id=slug,
        client_id=f"{slug}-portal",
        secret=secret,
        audience=DEFAULT_AUDIENCE,
        origin=origin,
    )
    team.campaign_rate = rate
    team.save(update_fields=["campaign_rate"])
    return team


def draft(team: Any, device_ids: list[str], *, name: str = "Benchmark") -> Any:
    """A raw LoRa campaign, as the new-campaign page makes it: both forms, then the draft
    (the tests make theirs here too)."""
    from django.http import QueryDict

    from audit.trail import Origin
    from campaigns import services
    from campaigns.forms import TargetsForm, message_form
    from campaigns.rows import Message

    data = QueryDict(mutable=True)
    data.update({"targets-name": name, "targets-device_ids": "\n".join(device_ids)})
    data.update(LORA_MESSAGE)
    targets = TargetsForm(data, team=team, kind="lora", prefix="targets")
    form = message_form(data, team=team, kind="lora", version=None)
    if not (targets.is_valid() and form.is_valid()) or targets.targets is None:
        raise RuntimeError(f"the forms refused the campaign: {targets.errors} {form.errors}")
    return services.campaign_draft(
        message=Message(team=team, kind="lora", form=form, data=data),
        targets=targets.targets,
        name=name,
        origin=Origin.system("benchmark"),
        user=None,
    )


def run_to_the_end(campaign: Any, timeout: float) -> float:
    """Start the campaign and wait for it to finish; the seconds it took."""
    from audit.trail import Origin
    from campaigns import services
    from campaigns.models import CampaignState

    started = time.monotonic()
    services.campaign_start(campaign=campaign, origin=Origin.system("benchmark"), send_anyway=True)
    while True:
        campaign.refresh_from_db(fields=["state"])
        if campaign.state == CampaignState.FINISHED:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"the campaign did not finish within {timeout:.0f} s")
        time.sleep(0.2)


def naive_rate(team: Any, device_ids: list[str]) -> float:
    """Creates per second sent one after the other through the single send."""
    from audit.trail import Origin
    from downlinks import services
    from things_api import NewLoraDownlink, NewLoraMessage

    started = time.perf_counter()
    for device_id in device_ids:
        services.downlink_send(
            team=team,
            kind="lora",
            new=NewLoraDownlink(
                device_id=device_id,
                message=NewLoraMessage.from_bytes(b"\x01\x02", f_port=7),
                feedback_timeout="PT1H",
            ),
            origin=Origin.system("benchmark"),
            user=None,
            submission_key=services.new_submission_key(),
            send_anyway=True,
        )
    return len(device_ids) / (time.perf_counter() - started)


def measure_rate(directory: Path, devices: int, rate: int) -> bool:
    with simulator_process(directory, latency_ms=LATENCY_MS) as api:
        team = make_team(api, "rate", rate)
        worker = Worker(directory, CAMPAIGN_MAX_RATE=str(rate))
        try:
            seconds = run_to_the_end(draft(team, lora_ids(devices)), timeout=devices / rate * 4)
        finally:
            worker.stop()
        arrivals: list[datetime] = api.arrivals()
        naive = naive_rate(make_team(api, "naive", rate), lora_ids(100, start=devices))
    if len(arrivals) != devices:
        raise RuntimeError(f"{len(arrivals)} creates arrived for {devices} devices")
    span = (max(arrivals) - min(arrivals)).total_seconds()
    achieved = (devices - 1) / span
    busiest = most_in_any_second(arrivals)
    rate_met = achieved >= 0.95 * rate
    window_met = busiest <= rate
    print(
        f"rate: {devices} devices at R = {rate}/s, {LATENCY_MS} ms API latency: "
        f"{achieved:.1f}/s achieved ({achieved / rate:.3f} R; target >= 0.95 R: "
        f"{verdict(rate_met)}), {seconds:.1f} s start to finished"
    )
    print(f"  most creates in any 1-s window: {busiest} (target <= {rate}: {verdict(window_met)})")
    print(
        f"  the naive way (one send after another, one thread): {naive:.1f}/s "
        f"({achieved / naive:.1f}x slower than the campaign)"
        if naive > achieved
        else f"  the naive way (one send after another, one thread): {naive:.1f}/s "
        f"(the campaign is {achieved / naive:.1f}x that)"
    )
    return rate_met and window_met


def measure_memory(directory: Path, small: int, big: int) -> bool:
    fast = 1000  # creates per second: the memory run is about rows, not the rate
    peaks: dict[int, float] = {}
    with simulator_process(directory) as api:
        for count in (small, big):
            team = make_team(api, f"memory-{count}", fast)
            campaign = draft(team, lora_ids(count))
            worker = Worker(directory, CAMPAIGN_MAX_RATE=str(fast))
            try:
                seconds = run_to_the_end(campaign, timeout=count)
                peaks[count] = worker.peak_rss_mb()
            finally:
                worker.stop()
            print(
                f"memory: {count} rows sent in {seconds:.1f} s; worker peak {peaks[count]:.1f} MB"
            )
    ratio = peaks[big] / peaks[small]
    met = ratio <= 1.2
    print(
        f"  peak at {big} rows / peak at {small} rows: {ratio:.2f} (target <= 1.2: {verdict(met)})"
    )
    return met


def measure_preview(directory: Path, rows: int) -> bool:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.http import QueryDict

    from audit.trail import Origin
    from campaigns import services
    from campaigns.forms import TargetsForm, message_form
    from campaigns.rows import Message
    from command_templates.models import CommandTemplate, definition_for
    from command_templates.services import template_save
    from devices import services as device_services
    from devices.models import DeviceType
    from teams import services as team_services

    origin = Origin.system("benchmark")
    team = team_services.team_create(slug="preview", name="Preview", origin=origin)
    meter = DeviceType(team=team, name="Water meter", kind="lora", default_f_port=2)
    codec_dir = PROJECT_ROOT / "devices" / "example_codecs"
    device_services.device_type_save(
        device_type=meter,
        codec=device_services.CodecUpload(
            (codec_dir / "water_meter.js").read_text(), (codec_dir / "water_meter.yaml").read_text()
        ),
        origin=origin,
        uploaded_by=None,
    )
    source = (
        "parameters:\n  - {name: interval_minutes, label: Interval, type: integer, min: 1, "
        "max: 1440}\npayload:\n  codec: {command: set_interval}\n"
    )
    template = CommandTemplate(team=team, name="Interval", kind="lora", device_type=meter)
    version = template_save(
        template=template,
        description="",
        source=source,
        definition=definition_for(source, kind="lora", device_type=meter),
        origin=origin,
        user=None,
    )
    text = "device_id,interval_minutes\n" + "".join(
        f"{device_id},{1 + index % 1440}\n" for index, device_id in enumerate(lora_ids(rows))
    )
    data = QueryDict(mutable=True)
    data.update({"targets-name": "Preview", "timeout_hours": "1", "timeout_days": "0"})
    data.update({"timeout_minutes": "0"})
    started = time.perf_counter()
    files = {"targets-csv_file": SimpleUploadedFile("rows.csv", text.encode(), "text/csv")}
    targets = TargetsForm(data, files, team=team, kind="lora", version=version, prefix="targets")
    if not targets.is_valid() or targets.targets is None:
        raise RuntimeError(f"the CSV was refused: {targets.errors}")
    per_row = targets.targets.columns
    form = message_form(data, team=team, kind="lora", version=version, per_row=per_row)
    if not form.is_valid():
        raise RuntimeError(f"the message was refused: {form.errors}")
    campaign = services.campaign_draft(
        message=Message(
            team=team, kind="lora", form=form, data=data, version=version, per_row=True
        ),
        targets=targets.targets,
        name="Preview",
        origin=origin,
        user=None,
    )
    seconds = time.perf_counter() - started
    sendable = campaign.rows.filter(state="queued").count()
    if sendable != rows:
        raise RuntimeError(f"{sendable} of {rows} rows were sendable")
    met = seconds <= 30
    print(
        f"preview: {rows} rows from a CSV, each made by the water meter's codec: {seconds:.1f} s "
        f"({seconds / rows * 1000:.2f} ms a row; target <= 30 s: {verdict(met)})"
    )
    return met


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10_000)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as temporary:
        directory = Path(temporary)
        server = os.environ.get("DATABASE_URL", "")
        if names_postgres(server):
            with throwaway_postgres_database(server, benchmark="campaign") as url:
                use_throwaway_database(directory, benchmark="campaign", database_url=url)
                results = _measure(directory, options)
        else:
            use_throwaway_database(directory, benchmark="campaign")
            results = _measure(directory, options)
    print("campaign benchmark:", "every target met" if all(results) else "a target NOT met")


def _measure(directory: Path, options: argparse.Namespace) -> list[bool]:
    return [
        measure_rate(directory, options.devices, options.rate),
        measure_memory(directory, options.small, options.big),
        measure_preview(directory, options.big),
    ]


if __name__ == "__main__":
    main()
