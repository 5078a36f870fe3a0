"""Benchmark: the poller's API calls and wall time per cycle, against one GET per downlink.

One run against the simulator, served over real HTTP in a thread with a frozen clock and
`latency_ms` of latency on every API call: `teams` teams, each its own tenant with a GRIP
client credential, and `per_team` downlinks per team (half LoRa, half MQTT) sent an hour ago,
all PENDING and never moving by themselves; the portal tracks each of them (a Downlink
record). A warm-up cycle catches up; then `cycles` measured cycles. Before each, a
`change_fraction` of the downlinks (spread over teams and kinds) is cancelled in the
simulator and its clock moved past the cancellation, so exactly those change (DONE /
CANCELLED). A cycle is what production runs: the beat schedule's entry sent through the
broker, its task fanning out one poll task per team with work, a worker running them
(benchmarks/beat_cycle.py; one worker, solo pool). Its API calls are counted at the simulator
(the token endpoint aside), its poll tasks counted, its wall time measured (broker included).

The bound of a cycle is the sum, over the teams and kinds that have tracked downlinks, of
max(1, ceil(changed / POLL_PAGE_SIZE)): one search is needed even to learn that nothing
changed. The naive approach it is compared with makes one GET per tracked downlink, one after
another, with the same clients (and writes nothing, which flatters it). Its time is measured
on every downlink, or on a random sample and scaled linearly (the report says which).
Targets: calls ≤ 1.1 x the bound; one poll task per team; at least 20x fewer calls and 10x
less time than naive. `main()` runs two scenarios: the default (10 teams x 1,000 followed,
100 changes per cycle) and a busy one with 500 changes per cycle per team and kind (a full
page each: re-reading anything already read would double the calls).

    .venv/bin/python -m benchmarks.poller [--naive-sample 1000 | --full-naive] [--cycles 3]

`run()` measures in whatever database Django is set up with (the tests call it under
pytest-django); `main()` sets up a throwaway SQLite database first, in a fresh process.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.beat_cycle import BeatCycles
from benchmarks.throwaway import simulator_in_thread, use_throwaway_database

if TYPE_CHECKING:
    from simulator.server import RunningSimulator
    from teams.models import Team

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("lora", "mqtt")
SENT_SECONDS_AGO = 3600  # the downlinks were sent this long before the benchmark starts
CANCEL_SECONDS = 1.0
TARGET_BOUND_RATIO = 1.1
TARGET_CALLS_FACTOR = 20.0
TARGET_TIME_FACTOR = 10.0
DEFAULT_NAIVE_SAMPLE = 1_000
SEED = 20_250_401


@dataclass(frozen=True)
class Followed:
    """One downlink the portal follows: where it lives on the simulator."""

    team_id: int
    tenant: str
    kind: str
    remote_id: str

    @property
    def key(self) -> tuple[int, str]:
        return self.team_id, self.kind


def _create_body(kind: str, index: int) -> dict[str, Any]:
    if kind == "lora":
        return {
            "deviceId": f"deveui:{index % 4096:016x}",
            "message": {"payloadHex": index.to_bytes(4, "big").hex(), "fPort": 1 + index % 200},
            "feedbackTimeout": "PT1H",
            "retryLimit": 0,
        }
    return {
        "deviceId": f"imei:35026680{index % 10_000_000:07d}",
        "message": {"type": "text", "payload": f"set {index}", "topic": "cmd/set"},
        "feedbackTimeout": "PT1H",
    }


def make_team(simulator: RunningSimulator, slug: str) -> tuple[Team, str]:
    """A team whose GRIP client credential is registered on the simulator, in its own tenant
    (named as the team); returns the team and its tenant."""
    from audit.trail import Origin
    from benchmarks.simulated_team import team_on_simulator

    secret = f"{slug}-secret-{uuid.uuid4().hex}"
    team = team_on_simulator(simulator, slug, secret=secret, origin=Origin.system("benchmark"))
    return team, slug


def fill(simulator: RunningSimulator, team: Team, tenant: str, count: int) -> list[Followed]:
    """`count` downlinks of the team (half of each kind), sent SENT_SECONDS_AGO: straight into
    the simulator's store and, in bulk, as the portal's records of them."""
    from django.utils import timezone

    from downlinks.models import Downlink, SendState
    from simulator.clock import datetime_from_ms
    from simulator.lifecycle import Kind as SimulatorKind
    from simulator.validation import validate_create
    from things_api import same_device_key

    sent_ms = simulator.clock.now_ms() - SENT_SECONDS_AGO * 1000
    sent_at = datetime_from_ms(sent_ms)
    now = timezone.now()
    followed: list[Followed] = []
    records: list[Downlink] = []
    for index in range(count):
        kind = KINDS[index % 2]
        body = _create_body(kind, index)
        created = simulator.store.create_downlink(
            tenant,
            validate_create(SimulatorKind(kind), body),
            simulator.app.timings,
            sent_ms,
        )
        followed.append(Followed(team.pk, tenant, kind, created.id))
        records.append(
            Downlink(
                team=team,
                kind=kind,
                remote_id=uuid.UUID(created.id),
                device_id=body["deviceId"],
                device_key=same_device_key(body["deviceId"]),
                request_body=body,
                payload_summary=f"benchmark downlink {index}",
                send_state=SendState.SENT,
                status=created.status,
                retry_count=0 if kind == "lora" else None,
                remote_created_at=sent_at,
                remote_modified_at=datetime_from_ms(created.modified_ms),
                last_seen_at=now,
            )
        )
    Downlink.objects.bulk_create(records, batch_size=1_000)
    # auto_now_add stamped them now; they were sent with the simulator's downlinks.
    Downlink.objects.filter(team=team).update(created_at=sent_at)
    return followed


def api_calls(simulator: RunningSimulator) -> int:
    """The API calls in the simulator's request log, token requests aside."""
    return sum(1 for entry in simulator.app.request_log.entries() if "/oidc/" not in entry.path)


def poll_cycle(cycles: BeatCycles, team_ids: list[int]) -> tuple[int, int]:
    """One cycle through the beat path; returns the changes it recorded and the poll tasks it
    ran. Fails on anything that would make the run unclean (an error, a skipped poll)."""
    from django.utils import timezone

    from downlinks.models import SyncState

    started = timezone.now()
    run = cycles.run()
    states = list(SyncState.objects.filter(team_id__in=team_ids))
    problems = [state.last_error for state in states if state.last_error]
    if problems:
        raise RuntimeError(f"a poll failed: {problems}")
    stale = [state for state in states if (state.last_success_at or started) < started]
    if stale:
        raise RuntimeError(f"{len(stale)} team kinds were not polled in the cycle")
    return sum(state.last_changed for state in states), run.polls


def choose_changes(
    rng: random.Random, pools: dict[tuple[int, str], list[Followed]], count: int, turn: int
) -> list[Followed]:
    """`count` downlinks still followed, taken in turn from each team and kind (starting at a
    different one each cycle, so the remainder spreads too), and removed from the pools."""
    keys = sorted(pools)
    chosen: list[Followed] = []
    position = turn
    while len(chosen) < count and any(pools.values()):
        pool = pools[keys[position % len(keys)]]
        position += 1
        if pool:
            chosen.append(pool.pop(rng.randrange(len(pool))))
    return chosen


def cancel_in_simulator(simulator: RunningSimulator, chosen: list[Followed]) -> None:
    """Cancel `chosen` at the simulator's now (first caught up with the portal's clock, so the
    changes fall inside the poller's window), then move past the cancellation delay."""
    from simulator.lifecycle import Kind as SimulatorKind
    from simulator.store import CancelOutcome

    clock = simulator.clock
    behind_ms = time.time_ns() // 1_000_000 - clock.now_ms()
    if behind_ms > 0:
        clock.advance(behind_ms / 1000)
    now_ms = clock.now_ms()
    for item in chosen:
        outcome = simulator.store.request_cancel(
            SimulatorKind(item.kind), item.tenant, item.remote_id, forced=False, now_ms=now_ms
        )
        if outcome is not CancelOutcome.ACCEPTED:
            raise RuntimeError(f"the simulator did not accept a cancellation: {outcome}")
    clock.advance(CANCEL_SECONDS + 0.001)


def cycle_bound(tracked: dict[tuple[int, str], int], chosen: list[Followed], page_size: int) -> int:
    """Σ over the teams and kinds with tracked downlinks of max(1, ceil(changed / page))."""
    changed: dict[tuple[int, str], int] = {}
    for item in chosen:
        changed[item.key] = changed.get(item.key, 0) + 1
    return sum(
        max(1, math.ceil(changed.get(key, 0) / page_size))
        for key, count in tracked.items()
        if count > 0
    )


def naive(
    simulator: RunningSimulator,
    teams: dict[int, Team],
    followed: list[Followed],
    sample: int | None,
    rng: random.Random,
) -> tuple[int, float]:
    """One GET per downlink in `followed` (or a random `sample` of them), one after another;
    returns the GETs made and their wall time."""
    from downlinks.selectors import resource_for
    from teams.connections import team_client

    resources = {
        (team_id, kind): resource_for(team_client(team), kind)
        for team_id, team in teams.items()
        for kind in KINDS
    }
    targets = (
        followed if sample is None or sample >= len(followed) else rng.sample(followed, sample)
    )
    simulator.app.request_log.clear()
    started = time.perf_counter()
    for item in targets:
        resources[item.key].get(item.remote_id)
    seconds = time.perf_counter() - started
    return len(targets), seconds


def run(
    teams: int = 10,
    per_team: int = 1_000,
    change_fraction: float = 0.01,
    latency_ms: float = 20,
    cycles: int = 3,
    naive_sample: int | None = DEFAULT_NAIVE_SAMPLE,
) -> dict[str, Any]:
    """Measure `cycles` poll cycles over teams * per_team tracked downlinks, and the naive
    approach over the same downlinks (all of them when `naive_sample` is None)."""
    from django.conf import settings

    from downlinks.models import Downlink
    from teams.connections import forget_clients
    from teams.models import Team

    page_size = int(settings.POLL_PAGE_SIZE)
    total = teams * per_team
    changes_per_cycle = max(1, round(change_fraction * total))
    rng = random.Random(SEED)
    suffix = uuid.uuid4().hex[:6]
    with (
        tempfile.TemporaryDirectory(prefix="poller-bench-") as directory,
        # Downlinks stay PENDING until cancelled: only the run changes them.
        simulator_in_thread(
            Path(directory),
            latency_ms=latency_ms,
            pending_seconds=1e7,
            cancel_seconds=CANCEL_SECONDS,
        ) as simulator,
        BeatCycles(timeout=600) as beat,
    ):
        team_objects: dict[int, Team] = {}
        try:
            started = time.perf_counter()
            followed: list[Followed] = []
            for number in range(teams):
                team, tenant = make_team(simulator, f"bench-{suffix}-{number}")
                team_objects[team.pk] = team
                followed += fill(simulator, team, tenant, per_team)
            fill_seconds = time.perf_counter() - started
            team_ids = list(team_objects)

            simulator.app.request_log.clear()
            started = time.perf_counter()
            warmup_changes, _ = poll_cycle(beat, team_ids)
            warmup = {
                "calls": api_calls(simulator),
                "seconds": time.perf_counter() - started,
                "changes": warmup_changes,
            }

            pools: dict[tuple[int, str], list[Followed]] = {
                (team_id, kind): [] for team_id in team_ids for kind in KINDS
            }
            for item in followed:
                pools[item.key].append(item)
            measured: list[dict[str, Any]] = []
            cancelled = 0
            for turn in range(cycles):
                tracked = {key: len(pool) for key, pool in pools.items()}
                chosen = choose_changes(rng, pools, changes_per_cycle, turn)
                cancel_in_simulator(simulator, chosen)
                bound = cycle_bound(tracked, chosen, page_size)
                simulator.app.request_log.clear()
                started = time.perf_counter()
                recorded, polls = poll_cycle(beat, team_ids)
                seconds = time.perf_counter() - started
                calls = api_calls(simulator)
                cancelled += len(chosen)
                done = Downlink.objects.filter(
                    team_id__in=team_ids, status="DONE", last_failure_reason="CANCELLED"
                ).count()
                if recorded != len(chosen) or done != cancelled:
                    raise RuntimeError(
                        f"cycle {turn + 1}: {len(chosen)} changed, the poller recorded "
                        f"{recorded}; {done} of {cancelled} cancelled records are DONE"
                    )
                measured.append(
                    {
                        "tracked": sum(tracked.values()),
                        "changed": len(chosen),
                        "recorded": recorded,
                        "calls": calls,
                        "polls": polls,
                        "bound": bound,
                        "ratio": calls / bound,
                        "seconds": seconds,
                    }
                )

            # The naive cycle: one GET for each of the downlinks tracked when measuring began.
            naive_measured_calls, naive_measured_seconds = naive(
                simulator, team_objects, followed, naive_sample, rng
            )
            naive_logged_calls = api_calls(simulator)
        finally:
            forget_clients()  # the cached API clients point at this simulator
            # Its teams would still have work for the next scenario's cycles (and a simulator
            # that is gone): they end with this run.
            Team.objects.filter(pk__in=list(team_objects)).delete()

    naive_calls = len(followed)
    naive_seconds = naive_measured_seconds * naive_calls / naive_measured_calls
    worst_calls = max(cycle["calls"] for cycle in measured)
    worst_seconds = max(cycle["seconds"] for cycle in measured)
    worst_ratio = max(cycle["ratio"] for cycle in measured)
    most_polls = max(cycle["polls"] for cycle in measured)
    calls_factor = naive_calls / worst_calls
    time_factor = naive_seconds / worst_seconds
    return {
        "teams": teams,
        "per_team": per_team,
        "tracked": total,
        "change_fraction": change_fraction,
        "changes_per_cycle": changes_per_cycle,
        "latency_ms": latency_ms,
        "page_size": page_size,
        "fill_seconds": fill_seconds,
        "warmup": warmup,
        "cycles": measured,
        "naive_calls": naive_calls,
        "naive_seconds": naive_seconds,
        "naive_measured_calls": naive_measured_calls,
        "naive_logged_calls": naive_logged_calls,
        "naive_measured_seconds": naive_measured_seconds,
        "naive_scaled": naive_measured_calls < naive_calls,
        "worst_ratio": worst_ratio,
        "most_polls": most_polls,
        "calls_factor": calls_factor,
        "time_factor": time_factor,
        "targets_met": {
            "bound": worst_ratio <= TARGET_BOUND_RATIO,
            "polls": most_polls == teams,
            "calls": calls_factor >= TARGET_CALLS_FACTOR,
            "time": time_factor >= TARGET_TIME_FACTOR,
        },
    }


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report(result: dict[str, Any]) -> str:
    lines = [
        f"Poller vs. one GET per downlink: {result['tracked']:,} tracked downlinks across "
        f"{result['teams']} teams (both kinds), {result['changes_per_cycle']} changing per "
        f"cycle, {result['latency_ms']:g} ms API latency, page size {result['page_size']}",
        f"  setup {result['fill_seconds']:.1f} s; warm-up cycle (catching up): "
        f"{result['warmup']['calls']} calls, {result['warmup']['seconds']:.2f} s",
        "  each cycle through the beat path: the schedule's entry sent to the broker, one worker",
        f"{'cycle':>7} {'tracked':>8} {'changed':>8} {'polls':>6} {'calls':>6} {'bound':>6} "
        f"{'ratio':>6} {'wall s':>7}",
    ]
    for number, cycle in enumerate(result["cycles"], 1):
        lines.append(
            f"{number:>7} {cycle['tracked']:>8,} {cycle['changed']:>8} {cycle['polls']:>6} "
            f"{cycle['calls']:>6} {cycle['bound']:>6} {cycle['ratio']:>6.2f} "
            f"{cycle['seconds']:>7.2f}"
        )
    if result["naive_scaled"]:
        how = (
            f"measured on a random sample of {result['naive_measured_calls']:,} GETs "
            f"({result['naive_measured_seconds']:.1f} s) and scaled linearly"
        )
    else:
        how = "measured on every downlink"
    lines += [
        f"{'naive':>7} {result['tracked']:>8,} {'':>8} {'':>6} {result['naive_calls']:>6,} "
        f"{'':>6} {'':>6} {result['naive_seconds']:>7.1f}   ({how})",
        "  bound per cycle: Σ over teams and kinds with tracked downlinks of "
        "max(1, ceil(changed / page)); one search is needed even to learn nothing changed",
        f"  calls ≤ {TARGET_BOUND_RATIO}x bound: worst {result['worst_ratio']:.2f}x "
        f"({_verdict(result['targets_met']['bound'])})",
        f"  poll tasks per cycle: at most {result['most_polls']} for {result['teams']} teams "
        f"({_verdict(result['targets_met']['polls'])})",
        f"  naive / poller calls (worst cycle): {result['calls_factor']:,.0f}x "
        f"(target ≥ {TARGET_CALLS_FACTOR:.0f}x, {_verdict(result['targets_met']['calls'])})",
        f"  naive / poller time (worst cycle): {result['time_factor']:,.0f}x "
        f"(target ≥ {TARGET_TIME_FACTOR:.0f}x, {_verdict(result['targets_met']['time'])})",
    ]
    return "\n".join(lines)


BUSY = {"teams": 2, "per_team": 4_000, "change_fraction": 0.25}  # 500 per team and kind


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--per-team", type=int, default=1_000)
    parser.add_argument("--change-fraction", type=float, default=0.01)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--no-busy", action="store_true", help="skip the busy scenario")
    naive_group = parser.add_mutually_exclusive_group()
    naive_group.add_argument(
        "--naive-sample",
        type=int,
        default=DEFAULT_NAIVE_SAMPLE,
        help="time the naive approach on this many random GETs and scale (default %(default)s)",
    )
    naive_group.add_argument(
        "--full-naive",
        action="store_true",
        help="time the naive approach on every downlink (10,000 GETs at the latency: minutes)",
    )
    arguments = parser.parse_args(argv)
    naive_sample = None if arguments.full_naive else arguments.naive_sample
    # The filesystem broker (under the throwaway var/), looked at often: a cycle's time is
    # mostly the poller's, not the broker's polling interval.
    os.environ.setdefault("CELERY_FILESYSTEM_POLLING_INTERVAL", "0.05")
    with tempfile.TemporaryDirectory(prefix="poller-bench-db-") as directory:
        use_throwaway_database(Path(directory), benchmark="poller")
        scenarios = [
            {
                "teams": arguments.teams,
                "per_team": arguments.per_team,
                "change_fraction": arguments.change_fraction,
            }
        ]
        if not arguments.no_busy:
            scenarios.append(BUSY)
        for number, scenario in enumerate(scenarios):
            if number:
                print()
            result = run(
                **scenario,
                latency_ms=arguments.latency_ms,
                cycles=arguments.cycles,
                naive_sample=naive_sample,
            )
            print(report(result), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
