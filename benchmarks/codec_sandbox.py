"""Benchmark: encoding through the codec sandbox against calling V8 directly.

The same codec and inputs, in one run: `calls` encodes with mini-racer in this process (the
plain call, no isolation: what the sandbox costs is measured against it), then through
`payload_codecs.sandbox.CodecSandbox` (each call sent to a worker process and its answer
checked) from one thread and from as many threads as workers. Also: the first call, which
starts a worker (a new process and V8) and compiles the codec, and the call after one that
V8 stopped at its time limit (the worker drops only the looping codec's context and serves on).

    .venv/bin/python -m benchmarks.codec_sandbox [--calls 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
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


def run(calls: int = 1000, workers: int = 2) -> dict[str, float]:
    inputs = _inputs(calls)
    sandbox = CodecSandbox(Limits(), workers=workers)
    try:
        started = time.perf_counter()
        sandbox.encode(CODEC, inputs[0])
        first_call = time.perf_counter() - started
        sandbox_calls(sandbox, inputs[: calls // 10], workers)  # every worker started, warm
        plain = min(plain_calls(inputs) for _ in range(3))
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
