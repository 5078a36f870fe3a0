"""Benchmark: payload codecs through the sandbox, against calling V8 directly.

The same codec and inputs, in one run: `calls` encodes with mini-racer in this process (the
plain call, no isolation: what the sandbox costs is measured against it), then through
`payload_codecs.sandbox.CodecSandbox` (each call sent to a worker process and its answer
checked) from one thread, with each call's latency (p50 and p95, warm), and from as many
threads as workers. Then a 1,000-device preview as the portal makes one: the template's
`make_payload` per device (the water meter's codec: encode, then decode back as the preview
shows it). Also: the first call, which starts a worker (a new process and V8) and compiles
the codec, and the call after one that V8 stopped at its time limit.

Targets: warm encode p50 <= 2 ms, a 1,000-device preview <= 2 s.

    .venv/bin/python -m benchmarks.codecs [--calls 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from typing import Any

from payload_codecs.sandbox import CodecFailed, CodecSandbox, Limits

CODEC = """
function encodeDownlink(input) {
  var minutes = input.data.interval_minutes;
  if (typeof minutes !== "number" || minutes < 1 || minutes > 1440) {
    return {errors: ["interval_minutes must be between 1 and 1440"]};
  }
  return {bytes: [0x01, (minutes >> 8) & 0xff, minutes & 0xff], fPort: 2, warnings: []};
}
"""
LOOPS = "function encodeDownlink(input) { while (true) {} }"


def _inputs(calls: int) -> list[dict[str, Any]]:
    return [{"interval_minutes": 1 + index % 1440} for index in range(calls)]


def plain_calls(inputs: list[dict[str, Any]]) -> float:
    """Seconds for the encodes in this process's V8, the result read back as JSON."""
    from py_mini_racer import MiniRacer

    with MiniRacer() as context:  # closed here, not by V8 callbacks at interpreter exit
        context.eval(CODEC)
        context.eval("function __call(input) { return JSON.stringify(encodeDownlink(input)); }")
        started = time.perf_counter()
        for data in inputs:
            bytes(json.loads(context.call("__call", {"data": data}))["bytes"])
        return time.perf_counter() - started


def sandbox_calls(sandbox: CodecSandbox, inputs: list[dict[str, Any]], threads: int) -> float:
    """Seconds for the encodes through the sandbox, shared out over `threads` threads."""
    shares = [inputs[index::threads] for index in range(threads)]

    def encode(share: list[dict[str, Any]]) -> None:
        for data in share:
            sandbox.encode(CODEC, data)

    workers = [threading.Thread(target=encode, args=(share,)) for share in shares]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


ENCODE_P50_TARGET_MS = 2.0
PREVIEW_TARGET_S = 2.0
PREVIEW_DEVICES = 1000


def latencies(sandbox: CodecSandbox, inputs: list[dict[str, Any]]) -> list[float]:
    """Seconds per encode, one call after the other."""
    taken = []
    for data in inputs:
        started = time.perf_counter()
        sandbox.encode(CODEC, data)
        taken.append(time.perf_counter() - started)
    return taken


def preview_seconds(devices: int) -> float:
    """Seconds for a preview of `devices` rows through the portal's own code: the template
    version's make_payload, with the codec decoding its bytes back, per row."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "things_portal.settings")
    django.setup()
    from command_templates.definition import read_definition
    from command_templates.models import CommandTemplate, TemplateVersion
    from command_templates.payloads import make_payload
    from devices.example_codecs import WATER_METER_CODEC
    from devices.models import CodecVersion, DeviceType, Kind

    source = "parameters: [{name: interval_minutes, type: integer, min: 1, max: 1440}]\n"
    source += "payload: {codec: {command: set_interval}}\n"
    definition = read_definition(source, kind=Kind.LORA, has_codec=True, default_f_port=2)
    device_type = DeviceType(name="Water meter", kind=Kind.LORA, default_f_port=2)
    codec = CodecVersion(
        device_type=device_type, number=1, source=WATER_METER_CODEC, has_decoder=True
    )
    version = TemplateVersion(
        template=CommandTemplate(name="Set interval", kind=Kind.LORA, device_type=device_type),
        number=1,
        definition=definition.model_dump(mode="json", by_alias=True),
    )
    values = [{"interval_minutes": 1 + row % 1440} for row in range(devices)]
    make_payload(version, values[0], device_type=device_type, codec_version=codec)  # warm
    started = time.perf_counter()
    for row in values:
        made = make_payload(version, row, device_type=device_type, codec_version=codec)
        assert made.decoded == {"command": "set_interval", **row}
    return time.perf_counter() - started


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def run(calls: int = 1000, workers: int = 2) -> dict[str, float]:
    inputs = _inputs(calls)
    sandbox = CodecSandbox(Limits(), workers=workers)
    try:
        started = time.perf_counter()
        sandbox.encode(CODEC, inputs[0])
        first_call = time.perf_counter() - started
        sandbox_calls(sandbox, inputs[: calls // 10], workers)  # every worker started, warm
        plain = min(plain_calls(inputs) for _ in range(3))
        each = sorted(latencies(sandbox, inputs))
        one_thread = min(sandbox_calls(sandbox, inputs, 1) for _ in range(3))
        parallel = min(sandbox_calls(sandbox, inputs, workers) for _ in range(3))
        recoveries = []
        for _ in range(3):
            try:
                sandbox.encode(LOOPS, {})
            except CodecFailed:
                pass
            else:
                raise RuntimeError("the endless loop was not stopped")
            started = time.perf_counter()
            sandbox.encode(CODEC, inputs[0])
            recoveries.append(time.perf_counter() - started)
    finally:
        sandbox.close()
    return {
        "calls": calls,
        "workers": workers,
        "first_call_ms": first_call * 1000,
        "plain_us": plain / calls * 1e6,
        "one_thread_us": one_thread / calls * 1e6,
        "parallel_us": parallel / calls * 1e6,
        "after_timeout_ms": statistics.median(recoveries) * 1000,
        "p50_ms": each[len(each) // 2] * 1000,
        "p95_ms": each[int(len(each) * 0.95)] * 1000,
        "preview_devices": PREVIEW_DEVICES,
        "preview_s": min(preview_seconds(PREVIEW_DEVICES) for _ in range(2)),
    }


def report(result: dict[str, float]) -> str:
    calls, workers = int(result["calls"]), int(result["workers"])
    plain = result["plain_us"]
    return "\n".join(
        [
            f"Codec encodes, {calls} calls (best of 3), {workers} sandbox workers",
            f"{'':<44} {'µs per call':>12} {'vs plain':>9}",
            f"{'plain V8 call in this process (no isolation)':<44} {plain:>12.0f} {1:>8.1f}x",
            f"{'sandbox, 1 thread':<44} {result['one_thread_us']:>12.0f} "
            f"{result['one_thread_us'] / plain:>8.1f}x",
            f"{f'sandbox, {workers} threads':<44} {result['parallel_us']:>12.0f} "
            f"{result['parallel_us'] / plain:>8.1f}x",
            f"first call (start a worker, compile): {result['first_call_ms']:.0f} ms; "
            f"the call after an endless loop was stopped (the same worker, its codec still "
            f"compiled): {result['after_timeout_ms']:.1f} ms",
            f"encode latency, warm, 1 thread: p50 {result['p50_ms']:.2f} ms, "
            f"p95 {result['p95_ms']:.2f} ms (target p50 <= {ENCODE_P50_TARGET_MS:g} ms: "
            f"{verdict(result['p50_ms'] <= ENCODE_P50_TARGET_MS)})",
            f"preview of {int(result['preview_devices']):,} devices (encode and decode back "
            f"per row): {result['preview_s']:.2f} s (target <= {PREVIEW_TARGET_S:g} s: "
            f"{verdict(result['preview_s'] <= PREVIEW_TARGET_S)})",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args(argv)
    print(report(run(arguments.calls, arguments.workers)), flush=True)


if __name__ == "__main__":
    main()
