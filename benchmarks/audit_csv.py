"""Benchmark: the audit trail's CSV export streams with flat memory.

It fills a throwaway SQLite database with N chained entries of one team (downlink send
attempts and their outcomes), then reads that team's export, /t/<slug>/audit.csv, through
the real view and its StreamingHttpResponse, twice: once timed, once under tracemalloc for
the peak of Python memory while the response is consumed. Memory is flat when the peak for
100,000 entries is about the peak for 10,000: a ratio near 1.

    .venv/bin/python -m benchmarks.audit_csv [--small 10000] [--large 100000]

Both sizes should be at least the export's fetch size (2,000 rows): below it, the smaller
export holds fewer rows at once and the ratio says nothing about streaming.

`run(n)` measures one export in whatever database Django is set up with (the tests call it
under pytest-django); `main()` sets up the throwaway database first, in a fresh process.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.throwaway import use_throwaway_database

if TYPE_CHECKING:
    from django.test import Client

    from audit.models import AuditEntry
    from audit.trail import TeamRef

SMALL, LARGE = 10_000, 100_000
BATCH_SIZE = 2_000
FLAT_RATIO = 1.5
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _entry(index: int, sequence: int, team: TeamRef, previous_hash: str) -> AuditEntry:
    """The index-th entry: even ones are send attempts, odd ones their outcomes."""
    from django.utils import timezone

    from audit.models import Action, AuditEntry, Outcome, Phase

    device = f"deveui:{index // 2:016x}"
    common = {
        "sequence": sequence,
        "created_at": timezone.now() - timedelta(milliseconds=LARGE * 10 - index * 10),
        "action": Action.DOWNLINK_SEND,
        "actor_id": 1,
        "actor_label": "operator-1",
        "team_id": team.id,
        "team_label": team.label,
        "target_kind": "downlink",
        "device_id": device,
        "ip_address": f"198.51.100.{index % 250 + 1}",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Benchmark/1.0",
        "previous_hash": previous_hash,
    }
    if index % 2 == 0:
        return AuditEntry(
            **common,
            phase=Phase.ATTEMPT,
            outcome=Outcome.PENDING,
            summary=f"Send 0a0b0c0d on port 3 to {device}",
            asked={"deviceId": device, "payloadHex": "0a0b0c0d", "fPort": 3, "confirmed": True},
        )
    return AuditEntry(
        **common,
        phase=Phase.OUTCOME,
        outcome=Outcome.OK,
        attempt_sequence=sequence - 1,
        target_id=f"dl-{uuid.UUID(int=index)}",
        summary="Accepted",
        answered={"status": 201, "state": "PENDING"},
    )


def fill(count: int, team: TeamRef) -> None:
    """Append `count` correctly chained entries of `team` in bulk, from the chain head on."""
    from django.db import transaction

    from audit.chain import GENESIS_HASH, seal
    from audit.keys import newest_key
    from audit.models import AuditEntry, ChainHead

    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"sequence": 0, "last_hash": GENESIS_HASH}
        )
        sequence, previous = head.sequence, head.last_hash
        key = newest_key()
        for start in range(0, count, BATCH_SIZE):
            batch = []
            for index in range(start, min(count, start + BATCH_SIZE)):
                sequence += 1
                entry = _entry(index, sequence, team, previous)
                seal(entry, key)
                previous = entry.entry_hash
                batch.append(entry)
            AuditEntry.objects.bulk_create(batch)
        head.sequence, head.last_hash = sequence, previous
        head.save(update_fields=["sequence", "last_hash"])


def _consume(client: Client, url: str) -> tuple[int, int]:
    """Read the whole streamed export; returns its lines and bytes, keeping neither."""
    from django.http import StreamingHttpResponse

    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert isinstance(response, StreamingHttpResponse), type(response)
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    return lines, size  # the test client closes the response once it is read to the end


def run(n: int) -> dict[str, float]:
    """Export a team with `n` entries, timed and then under tracemalloc."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from audit.trail import TeamRef
    from teams.models import Membership, Role, Team

    suffix = f"{n}-{uuid.uuid4().hex[:8]}"
    team = Team.objects.create(slug=f"bench-{suffix}", name=f"Benchmark {suffix}")
    admin = get_user_model().objects.create_user(f"bench-{suffix}", password=None)
    Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    started = time.perf_counter()
    fill(n, TeamRef(team.pk, team.slug))
    fill_seconds = time.perf_counter() - started
    client = Client()
    client.force_login(admin)
    url = f"/t/{team.slug}/audit.csv"
    # Warm up (imports, templates, connection) on an export that matches nothing.
    _consume(client, f"{url}?action=sign_in")

    gc.collect()
    started = time.perf_counter()
    lines, size = _consume(client, url)
    seconds = time.perf_counter() - started
    assert lines == n + 1, (lines, n)  # the header and one line per entry

    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        _consume(client, url)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()

    return {
        "entries": n,
        "csv_lines": lines,
        "csv_bytes": size,
        "fill_seconds": fill_seconds,
        "seconds": seconds,
        "rows_per_second": n / seconds,
        "peak_bytes": peak,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--small", type=int, default=SMALL)
    parser.add_argument("--large", type=int, default=LARGE)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="audit-csv-bench-") as directory:
        use_throwaway_database(Path(directory), benchmark="audit_csv")
        results = [run(arguments.small), run(arguments.large)]

        from io import StringIO

        from django.core.management import call_command

        started = time.perf_counter()
        call_command("verify_audit", stdout=StringIO())
        verify_seconds = time.perf_counter() - started

    print("Audit CSV export (SQLite, streamed through the real view)")
    print(f"{'entries':>9} {'CSV MB':>7} {'peak KiB':>9} {'rows/s':>9} {'fill s':>7}")
    for result in results:
        print(
            f"{result['entries']:>9,.0f} {result['csv_bytes'] / 1e6:>7.1f} "
            f"{result['peak_bytes'] / 1024:>9,.0f} {result['rows_per_second']:>9,.0f} "
            f"{result['fill_seconds']:>7.1f}"
        )
    ratio = results[1]["peak_bytes"] / results[0]["peak_bytes"]
    verdict = "flat" if ratio < FLAT_RATIO else "NOT flat"
    sizes = f"{results[1]['entries']:,.0f} / {results[0]['entries']:,.0f}"
    print(f"peak ratio {sizes}: {ratio:.2f} ({verdict})")
    total = sum(result["entries"] for result in results)
    print(f"verify_audit over the {total:,.0f}+ entries: {verify_seconds:.1f} s, intact")


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
