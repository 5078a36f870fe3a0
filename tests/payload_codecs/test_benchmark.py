"""The codec sandbox benchmark runs and reports each measure against the plain call."""

from benchmarks import codecs


def test_the_benchmark_runs_and_reports_against_the_plain_call() -> None:
    result = codecs.run(calls=20, workers=2)
    assert all(result[key] > 0 for key in ("plain_us", "one_thread_us", "parallel_us"))
    assert result["first_call_ms"] > 0
    assert result["after_timeout_ms"] > 0
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    assert result["preview_s"] > 0
    lines = codecs.report(result).splitlines()
    assert lines[0] == "Codec encodes, 20 calls (best of 3), 2 sandbox workers"
    assert [line.split("  ")[0] for line in lines[2:5]] == [
        "plain V8 call in this process (no isolation)",
        "sandbox, 1 thread",
        "sandbox, 2 threads",
    ]
    verdicts = [line.rsplit(": ", 1)[-1] for line in lines[-2:]]
    assert all(verdict in ("met)", "NOT met)") for verdict in verdicts)
