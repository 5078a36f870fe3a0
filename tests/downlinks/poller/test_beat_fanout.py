"""The beat schedule's entry, through the configured broker (the filesystem broker locally,
Redis in CI) and a real worker: one poll per team with work per cycle, however many downlinks
each team follows, and no more API calls per cycle than the bound. Counted at the simulator."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings

from benchmarks.beat_cycle import BeatCycles
from downlinks.models import Downlink, SyncState
from tests.downlinks.poller.conftest import SimulatedTeam

pytestmark = pytest.mark.django_db(transaction=True)

TEAMS, PER_KIND = 3, 7  # 3 teams following 14 downlinks each (7 per kind)


@pytest.fixture
def cycles() -> Iterator[BeatCycles]:
    with BeatCycles(timeout=120) as running:
        yield running


def api_calls(team: SimulatedTeam) -> int:
    """The API calls the simulator answered, token requests aside."""
    return sum(
        1 for entry in team.simulator.app.request_log.entries() if "/oidc/" not in entry.path
    )


def bound(changed: dict[tuple[int, str], int], followed: dict[tuple[int, str], int]) -> int:
    """Σ over the teams and kinds that follow anything of max(1, ceil(changed / page))."""
    page = settings.POLL_PAGE_SIZE
    return sum(
        max(1, math.ceil(changed.get(key, 0) / page)) for key, count in followed.items() if count
    )


def followed_now() -> dict[tuple[int, str], int]:
    counts: dict[tuple[int, str], int] = {}
    for team_id, kind in Downlink.objects.followed().values_list("team_id", "kind"):
        counts[team_id, kind] = counts.get((team_id, kind), 0) + 1
    return counts


def test_one_poll_per_team_per_cycle_and_calls_within_the_bound(
    simulated_team_factory: Callable[[str], SimulatedTeam], cycles: BeatCycles
) -> None:
    teams = [simulated_team_factory(f"fleet{number}") for number in range(TEAMS)]
    for team in teams:
        for index in range(PER_KIND):
            team.send_lora(bytes([index]))
            team.send_mqtt(f"set {index}")
    simulator = teams[0].simulator
    followed = followed_now()
    assert sum(followed.values()) == TEAMS * PER_KIND * 2

    # A cycle in which nothing changed: one search per team and kind.
    simulator.app.request_log.clear()
    quiet = cycles.run()
    assert quiet.fanned_out == TEAMS  # not one per followed downlink
    assert quiet.polls == TEAMS
    assert api_calls(teams[0]) == bound({}, followed) == TEAMS * 2

    # Everything moves on (PENDING → EXECUTING): every followed downlink changed.
    simulator.clock.advance(6)
    simulator.app.request_log.clear()
    busy = cycles.run()
    assert busy.fanned_out == TEAMS
    assert api_calls(teams[0]) <= bound(followed, followed)
    assert Downlink.objects.filter(status="EXECUTING").count() == TEAMS * PER_KIND * 2
    # The status panel's numbers are the whole cycle's, not one task's.
    panel = SyncState.objects.filter(team__in=[team.team for team in teams])
    assert sum(state.last_api_calls for state in panel) == api_calls(teams[0])
    assert sum(state.last_changed for state in panel) == TEAMS * PER_KIND * 2

    # All DONE: the next cycle has nothing to do, and fans out nothing.
    simulator.clock.advance(60)
    cycles.run()
    assert Downlink.objects.followed().count() == 0
    assert cycles.run().fanned_out == 0
