"""The CSV export's memory stays flat as the trail grows: the benchmark (benchmarks/
audit_csv.py) at a small scale. It compares memory, not time, so it does not depend on the
machine's speed."""

import io

import pytest
from django.core.management import call_command

from benchmarks.audit_csv import run

SMALL, LARGE = 2_000, 20_000


@pytest.mark.slow
@pytest.mark.django_db
def test_the_csv_export_streams_with_flat_memory() -> None:
    small, large = run(SMALL), run(LARGE)

    assert small["csv_lines"] == SMALL + 1
    assert large["csv_lines"] == LARGE + 1
    assert large["csv_bytes"] > 9 * small["csv_bytes"]
    assert large["peak_bytes"] / small["peak_bytes"] < 2
    # The benchmark's bulk-written entries chain like any others.
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()
