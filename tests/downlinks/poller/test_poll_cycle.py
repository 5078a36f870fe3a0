"""One poll cycle (downlinks.polling.poll_team) against the live simulator, in process.

These pin the cycle's logic: what changed reaches the records, calls grow with changes and
not with what is followed, events are stored once, clock skew within the overlap loses
nothing, creates with unknown outcome are reconciled, failures back off per team.
"""

import math
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from django.conf import LazySettings
from django.test import Client
from django.utils import timezone

from audit.models import Action, AuditEntry, Outcome, Phase
from downlinks.models import Downlink, SendState, StatusEvent, SyncState
from downlinks.polling import CycleReport, poll_team, teams_with_work
from teams.models import Role
from tests.at_once import at_once
from tests.downlinks.poller.conftest import SimulatedTeam
from tests.teams.world import join, make_user, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def searches(team: SimulatedTeam, kind: str = "lora") -> int:
    return sum(
        1
        for entry in team.simulator.app.request_log.entries()
        if entry.method == "GET"
        and entry.path == f"/{kind}/downlinks"
        and entry.tenant == team.tenant
    )


def gets(team: SimulatedTeam, kind: str = "lora") -> int:
    return sum(
        1
        for entry in team.simulator.app.request_log.entries()
        if entry.method == "GET" and entry.path.startswith(f"/{kind}/downlinks/")
    )


def fault(team: SimulatedTeam, **rule: object) -> None:
    httpx.post(f"{team.simulator.url}/_sim/faults", json=rule).raise_for_status()


def test_status_changes_reach_the_records_with_their_reasons(simulated_team: SimulatedTeam) -> None:
    ok = simulated_team.send_lora(b"\x01")
    failing = simulated_team.send_lora(b"sim:FEEDBACK_TIMEOUT")
    retried = simulated_team.send_lora(b"sim:NOT_ACKNOWLEDGED_BY_DEVICE", retry_limit=2)
    mqtt = simulated_team.send_mqtt("sim:FAILED_TO_TRANSMIT_TO_DEVICE")
    for _ in range(12):  # every phase of every lifecycle, one poll per step
        simulated_team.simulator.clock.advance(3)
        poll_team(simulated_team.team.pk)
    for record in (ok, failing, retried, mqtt):
        record.refresh_from_db()
        assert record.status == "DONE"
    assert ok.last_failure_reason == ""
    assert failing.last_failure_reason == "FEEDBACK_TIMEOUT"
    assert retried.last_failure_reason == "NOT_ACKNOWLEDGED_BY_DEVICE"
    assert retried.retry_count == 2
    assert mqtt.last_failure_reason == "FAILED_TO_TRANSMIT_TO_DEVICE"
    # Every observed state once, in order, retries included.
    states = [(e.status, e.retry_count) for e in retried.events.order_by("observed_at", "pk")]
    assert states == [
        ("PENDING", 0),
        ("EXECUTING", 0),
        ("EXECUTING", 1),
        ("EXECUTING", 2),
        ("DONE", 2),
    ]
    assert teams_with_work() == []


def test_calls_grow_with_changes_not_with_what_is_followed(
    simulated_team: SimulatedTeam, settings: LazySettings
) -> None:
    settings.POLL_PAGE_SIZE = 10
    for index in range(40):
        simulated_team.send_lora(bytes([index]))
    poll_team(simulated_team.team.pk)  # the first cycle sees all 40 (they are new)
    simulated_team.simulator.app.request_log.clear()
    poll_team(simulated_team.team.pk)  # nothing changed, but the overlap window shows them again
    quiet = searches(simulated_team)
    simulated_team.simulator.clock.advance(6)  # all 40 become EXECUTING
    simulated_team.simulator.app.request_log.clear()
    poll_team(simulated_team.team.pk)
    changed_calls = searches(simulated_team)
    assert changed_calls == math.ceil(40 / 10)
    assert quiet <= math.ceil(40 / 10)
    assert gets(simulated_team) == 0  # no one-by-one fetches
    assert Downlink.objects.filter(status="EXECUTING").count() == 40


def test_a_repeated_cycle_stores_no_event_twice(simulated_team: SimulatedTeam) -> None:
    record = simulated_team.send_lora()
    simulated_team.simulator.clock.advance(6)
    for _ in range(3):
        poll_team(simulated_team.team.pk)
    assert list(record.events.values_list("status", flat=True)) == ["PENDING", "EXECUTING"]
    assert StatusEvent.objects.count() == 2


@pytest.mark.parametrize("skew_seconds", [120, -120])
def test_a_skewed_api_clock_misses_no_change(
    simulated_team: SimulatedTeam, skew_seconds: int, settings: LazySettings
) -> None:
    settings.POLL_FALLBACK_AFTER_SECONDS = 3600  # only the searches may find the changes
    simulated_team.simulator.clock.set_offset(skew_seconds)
    record = simulated_team.send_lora()
    poll_team(simulated_team.team.pk)
    for expected in ("EXECUTING", "DONE"):
        simulated_team.simulator.clock.advance(11)
        poll_team(simulated_team.team.pk)
        record.refresh_from_db()
        assert record.status == expected
    assert gets(simulated_team) == 0


def test_an_overlap_smaller_than_the_skew_would_miss_changes(
    simulated_team: SimulatedTeam, settings: LazySettings
) -> None:
    """The counter-check of the test above: it can fail, and the overlap is what saves it."""
    settings.POLL_FALLBACK_AFTER_SECONDS = 3600
    settings.POLL_OVERLAP_SECONDS = 30
    simulated_team.simulator.clock.set_offset(-120)
    record = simulated_team.send_lora()
    poll_team(simulated_team.team.pk)
    simulated_team.simulator.clock.advance(6)
    poll_team(simulated_team.team.pk)
    record.refresh_from_db()
    assert record.status == "PENDING"  # the change happened "before" the window


def test_records_no_search_shows_are_fetched_one_by_one(
    simulated_team: SimulatedTeam, settings: LazySettings
) -> None:
    settings.POLL_FALLBACK_AFTER_SECONDS = 600
    record = simulated_team.send_lora()
    simulated_team.simulator.clock.advance(6)
    # A search that cannot show it (its window starts after the change), and a record that
    # no search has shown for longer than the threshold: only the fallback can find it.
    SyncState.objects.update_or_create(
        team=simulated_team.team,
        kind="lora",
        defaults={"last_success_at": timezone.now() + timedelta(hours=1)},
    )
    Downlink.objects.filter(pk=record.pk).update(last_seen_at=timezone.now() - timedelta(hours=1))
    poll_team(simulated_team.team.pk)
    record.refresh_from_db()
    assert record.status == "EXECUTING"
    assert gets(simulated_team) == 1
    # Seen now: the next cycle does not fetch it again.
    poll_team(simulated_team.team.pk)
    assert gets(simulated_team) == 1


def test_two_pollers_at_once_make_one_cycle_of_calls(
    simulated_team: SimulatedTeam, settings: LazySettings
) -> None:
    for index in range(3):
        simulated_team.send_lora(bytes([index]))
    simulated_team.send_mqtt()
    simulated_team.simulator.app.request_log.clear()
    fault(simulated_team, kind="latency", delayMs=300)  # a cycle long enough to overlap

    def poll() -> CycleReport:
        return poll_team(simulated_team.team.pk)

    reports = at_once([poll, poll], timeout=30)
    assert sorted(bool(report.skipped) for report in reports) == [False, True]
    assert searches(simulated_team, "lora") == 1
    assert searches(simulated_team, "mqtt") == 1


def test_a_create_with_unknown_outcome_is_found_and_linked(simulated_team: SimulatedTeam) -> None:
    fault(
        simulated_team,
        kind="timeout",
        method="POST",
        path="/lora/downlinks",
        delayMs=15000,
        times=1,
    )
    record = simulated_team.send_lora(b"sim:EVICTED")
    assert record.send_state == SendState.UNKNOWN
    posts_before = simulated_team.simulator.app.request_log.count(
        method="POST", path="/lora/downlinks"
    )
    report = poll_team(simulated_team.team.pk)
    assert report.kinds[0].reconciled == 1
    record.refresh_from_db()
    assert record.send_state == SendState.SENT
    assert record.remote_id is not None
    assert record.send_attempt_sequence is not None
    attempt = AuditEntry.objects.get(sequence=record.send_attempt_sequence)
    outcomes = AuditEntry.objects.filter(phase=Phase.OUTCOME, attempt_sequence=attempt.sequence)
    assert [o.outcome for o in outcomes.order_by("sequence")] == [Outcome.UNKNOWN, Outcome.OK]
    assert outcomes.order_by("sequence").last().target_id == str(record.remote_id)  # type: ignore[union-attr]
    # Nothing was sent again, and later cycles follow it like any other.
    assert (
        simulated_team.simulator.app.request_log.count(method="POST", path="/lora/downlinks")
        == posts_before
    )
    simulated_team.simulator.clock.advance(30)
    poll_team(simulated_team.team.pk)
    record.refresh_from_db()
    assert (record.status, record.last_failure_reason) == ("DONE", "EVICTED")


def test_a_create_that_never_arrived_is_recorded_as_not_sent_after_the_deadline(
    simulated_team: SimulatedTeam, settings: LazySettings
) -> None:
    fault(simulated_team, kind="disconnect", method="POST", path="/lora/downlinks", times=1)
    record = simulated_team.send_lora()
    assert record.send_state == SendState.UNKNOWN
    poll_team(simulated_team.team.pk)
    record.refresh_from_db()
    assert record.send_state == SendState.UNKNOWN  # not found yet, deadline not passed
    settings.RECONCILE_DEADLINE_SECONDS = 0
    poll_team(simulated_team.team.pk)
    record.refresh_from_db()
    assert record.send_state == SendState.NOT_SENT
    outcome = (
        AuditEntry.objects.filter(
            phase=Phase.OUTCOME, attempt_sequence=record.send_attempt_sequence
        )
        .order_by("sequence")
        .last()
    )
    assert outcome is not None
    assert outcome.outcome == Outcome.NOT_SENT
    assert outcome.action == Action.DOWNLINK_SEND
    assert teams_with_work() == []


def test_upstream_errors_back_off_one_team_without_stopping_the_others(
    simulated_team_factory: Callable[[str], SimulatedTeam],
) -> None:
    failing = simulated_team_factory("failing")
    healthy = simulated_team_factory("healthy")
    broken = failing.send_lora()
    fine = healthy.send_lora()
    fault(failing, kind="error", status=503, path="/lora/downlinks")  # every search fails
    failing.simulator.clock.advance(6)
    # The fault rule is per path, not per tenant: let the healthy team poll first.
    httpx.delete(f"{healthy.simulator.url}/_sim/faults").raise_for_status()
    poll_team(healthy.team.pk)
    fault(failing, kind="error", status=503, path="/lora/downlinks")
    poll_team(failing.team.pk)
    state = SyncState.objects.get(team=failing.team, kind="lora")
    assert state.consecutive_failures == 1
    assert state.backoff_until is not None
    assert "503" in state.last_error or "problem" in state.last_error.lower()
    calls = searches(failing)
    poll_team(failing.team.pk)  # inside the backoff: no call at all
    assert searches(failing) == calls
    fine.refresh_from_db()
    broken.refresh_from_db()
    assert fine.status == "EXECUTING"
    assert broken.status == "PENDING"


def test_a_revoked_credential_is_reported_to_the_team_s_admins(
    simulated_team: SimulatedTeam,
) -> None:
    simulated_team.send_lora()
    simulated_team.simulator.store.revoke_client(f"{simulated_team.tenant}-portal")
    from teams.connections import forget_clients

    forget_clients()  # drop the cached token, as a restarted worker would
    poll_team(simulated_team.team.pk)
    state = SyncState.objects.get(team=simulated_team.team, kind="lora")
    assert state.credential_rejected
    assert "refused the team's credential" in state.last_error
    admin = make_user("boss")
    viewer = make_user("reader")
    join(admin, simulated_team.team, Role.ADMIN)
    join(viewer, simulated_team.team, Role.VIEWER)
    page = sign_in(Client(), admin).get(f"/t/{simulated_team.team.slug}/").content.decode()
    assert "Status updates have stopped" in page
    assert "Update the credential" in page
    page = sign_in(Client(), viewer).get(f"/t/{simulated_team.team.slug}/").content.decode()
    assert "Status updates have stopped" not in page
    status_page = (
        sign_in(Client(), admin).get(f"/t/{simulated_team.team.slug}/sync/").content.decode()
    )
    assert "refused the team&#x27;s credential" in status_page
