"""The codec sandbox benchmark runs and reports each measure against the plain call."""

from benchmarks import codec_sandbox


def test_the_benchmark_runs_and_reports_against_the_plain_call() -> None:
    result = codec_sandbox.run(calls=20, workers=2)
    assert all(result[key] > 0 for key in ("plain_us", "one_thread_us", "parallel_us"))
    assert result["first_call_ms"] > 0
    assert result["after_timeout_ms"] > 0
    lines = codec_sandbox.report(result).splitlines()
    assert lines[0] == "Codec encodes, 20 calls (best of 3), 2 sandbox workers"
    assert [line.split("  ")[0] for line in lines[2:5]] == [
        "plain V8 call in this process (no isolation)",
        "sandbox, 1 thread",
        "sandbox, 2 threads",
    ]
