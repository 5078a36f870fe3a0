"""The poller benchmark (benchmarks/poller.py) at a tiny scale and without latency. It checks
what it counts, not how long things take, so it does not depend on the machine's speed. Its
cycles go through the beat path (broker and a worker in a thread), hence real transactions."""

import math

import pytest

from benchmarks.poller import report, run

TEAMS, PER_TEAM, CYCLES = 3, 40, 2


@pytest.mark.django_db(transaction=True)
def test_the_poller_makes_exactly_the_bound_of_calls_per_cycle() -> None:
    result = run(
        teams=TEAMS,
        per_team=PER_TEAM,
        change_fraction=0.1,
        latency_ms=0,
        cycles=CYCLES,
        naive_sample=None,
    )

    assert set(result) >= {
        "tracked",
        "changes_per_cycle",
        "page_size",
        "warmup",
        "cycles",
        "naive_calls",
        "naive_seconds",
        "naive_scaled",
        "worst_ratio",
        "calls_factor",
        "time_factor",
        "targets_met",
    }
    assert result["tracked"] == TEAMS * PER_TEAM
    assert result["changes_per_cycle"] == 12
    assert len(result["cycles"]) == CYCLES
    for cycle in result["cycles"]:
        assert cycle["changed"] == 12
        assert cycle["recorded"] == 12  # every change reached the portal's records
        # 12 changes over 3 teams x 2 kinds, all tracked: one search per team and kind.
        assert cycle["bound"] == TEAMS * 2
        assert cycle["calls"] == cycle["bound"]
        assert cycle["polls"] == TEAMS  # one poll task per team, through the beat path
    assert result["worst_ratio"] == 1
    assert result["targets_met"]["polls"] is True
    # The naive approach ran on every downlink, one GET each, as the simulator saw.
    assert result["naive_scaled"] is False
    assert result["naive_calls"] == TEAMS * PER_TEAM
    assert result["naive_measured_calls"] == TEAMS * PER_TEAM
    assert result["naive_logged_calls"] == TEAMS * PER_TEAM
    assert math.isclose(result["calls_factor"], TEAMS * PER_TEAM / (TEAMS * 2))
    assert result["targets_met"]["bound"] is True
    assert "1.00x" in report(result)


@pytest.mark.django_db(transaction=True)
def test_a_full_page_of_changes_per_team_and_kind_is_read_once() -> None:
    """The busy case: as many changes per team and kind as a page holds. Re-reading the
    previous cycle's changes (an overlap window) would make it two pages, twice the bound."""
    from django.test import override_settings

    with override_settings(POLL_PAGE_SIZE=20):
        result = run(teams=2, per_team=160, change_fraction=0.25, latency_ms=0, cycles=3)
    for cycle in result["cycles"]:
        assert cycle["changed"] == 2 * 2 * 20
        assert cycle["bound"] == 2 * 2
        assert cycle["calls"] == cycle["bound"]


@pytest.mark.django_db(transaction=True)
def test_a_sampled_naive_run_is_scaled_to_every_downlink() -> None:
    result = run(teams=1, per_team=20, change_fraction=0.05, latency_ms=0, cycles=1, naive_sample=5)

    assert result["naive_scaled"] is True
    assert result["naive_measured_calls"] == 5
    assert result["naive_logged_calls"] == 5
    assert result["naive_calls"] == 20
    assert math.isclose(result["naive_seconds"], result["naive_measured_seconds"] * 4)
    assert "random sample of 5 GETs" in report(result)
