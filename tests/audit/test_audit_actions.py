"""The audit page's rows: one per action, an attempt with its outcomes merged in (one query for
the outcomes of a whole page), counted by action; and what each came to, in words."""

from typing import Any
from uuid import uuid4

import pytest

from audit.models import Action, AuditEntry, Outcome, Phase, attempt_in_words
from audit.selectors import (
    AuditFilters,
    audit_action_page,
    audit_actions,
    audit_entries,
    with_outcomes,
)
from audit.trail import Origin, TeamRef, record, record_attempt, record_outcome
from teams.models import Team

DEVICE = "deveui:ea8fa35e2cf3489f"
ALICE = Origin(None, "alice")
POLLER = Origin.system("poller")


def ref(team: Team) -> TeamRef:
    return TeamRef(team.pk, team.slug)


def send_attempt(team: Team, *, device: str = DEVICE) -> AuditEntry:
    """As downlinks.services records a send: the attempt names the kind, not yet an id."""
    return record_attempt(
        Action.DOWNLINK_SEND,
        origin=ALICE,
        team=ref(team),
        target_kind="lora",
        device_id=device,
        summary="Send LoRa downlink: 01 on port 1",
    )


def sent(team: Team, outcome: Outcome = Outcome.OK) -> tuple[AuditEntry, AuditEntry]:
    attempt = send_attempt(team)
    downlink_id = str(uuid4())
    answer = record_outcome(
        attempt,
        outcome=outcome,
        origin=ALICE,
        target_id=downlink_id if outcome == Outcome.OK else "",
        answered={"status": 201 if outcome == Outcome.OK else 409},
        summary=f"Created {downlink_id}" if outcome == Outcome.OK else "Refused",
    )
    return attempt, answer


def event(team: Team, summary: str = "an event") -> AuditEntry:
    return record(
        Action.MEMBER_ADDED,
        origin=ALICE,
        team=ref(team),
        outcome=Outcome.OK,
        target_kind="user",
        target_id="bob",
        summary=summary,
    )


def rows(team: Team, **filters: Any) -> list[Any]:
    filtered = AuditFilters(**filters)
    return with_outcomes(audit_actions(team_id=team.pk, filters=filtered), team_id=team.pk)


def test_an_attempt_and_its_outcome_are_one_row(team: Team) -> None:
    before = event(team, "before")
    attempt, answer = sent(team)
    after = event(team, "after")

    listed = rows(team)

    assert [row.entry.sequence for row in listed] == [
        after.sequence,
        attempt.sequence,
        before.sequence,
    ]
    [send] = [row for row in listed if row.is_attempt]
    assert send.outcomes == (answer,)
    assert send.outcome == Outcome.OK
    assert not send.outcome_unknown
    # The send's downlink is named by the outcome only (the API gave it its id).
    assert attempt.target_id == ""
    assert send.target_id == answer.target_id != ""
    assert send.words == "Sent downlink — accepted by the API"
    # Events are rows of their own, with no outcomes attached.
    assert all(row.outcomes == () for row in listed if not row.is_attempt)


def test_an_attempt_without_outcome_is_outcome_unknown(team: Team) -> None:
    attempt = send_attempt(team)

    [row] = rows(team)

    assert row.entry == attempt
    assert row.outcomes == ()
    assert row.outcome == ""
    assert row.outcome_unknown
    assert row.words == "Send asked — outcome unknown"


def test_a_later_outcome_settles_an_unknown_one(team: Team) -> None:
    attempt = send_attempt(team)
    unknown = record_outcome(attempt, outcome=Outcome.UNKNOWN, origin=ALICE, summary="Timed out")
    found = record_outcome(
        attempt, outcome=Outcome.OK, origin=POLLER, target_id=str(uuid4()), summary="Found"
    )

    [row] = rows(team)

    assert row.outcomes == (unknown, found)
    assert row.outcome == Outcome.OK
    assert not row.outcome_unknown
    assert row.target_id == found.target_id


def test_the_filters_choose_actions_and_bring_their_outcomes_along(team: Team) -> None:
    """Filtered by person, the attempt is listed with the outcome the poller recorded."""
    attempt = send_attempt(team)
    by_poller = record_outcome(attempt, outcome=Outcome.NOT_SENT, origin=POLLER)
    event(team)

    [row] = rows(team, action=Action.DOWNLINK_SEND, person="alice")
    assert row.entry == attempt
    assert row.outcomes == (by_poller,)
    assert row.words == "Downlink not sent — not found on the platform"
    assert rows(team, person="poller") == []  # an outcome is never a row of its own


def test_another_team_s_entry_is_never_merged_in(team: Team, other_team: Team) -> None:
    attempt = send_attempt(team)
    record(
        Action.DOWNLINK_SEND,
        origin=ALICE,
        team=ref(other_team),
        phase=Phase.OUTCOME,
        outcome=Outcome.OK,
        attempt=attempt,
        summary="not ours",
    )

    [row] = rows(team)

    assert row.outcomes == ()
    assert row.outcome_unknown


def test_an_outcome_without_attempt_stays_visible(team: Team) -> None:
    """Not written by the trail's own functions, but never hidden if it is there."""
    orphan = record(
        Action.DOWNLINK_SEND, origin=ALICE, team=ref(team), phase=Phase.OUTCOME, outcome="ok"
    )
    assert [row.entry for row in rows(team)] == [orphan]


def test_pages_count_actions_not_entries(team: Team) -> None:
    for _ in range(5):
        sent(team)

    first = audit_action_page(team_id=team.pk, filters=AuditFilters(), number=1, per_page=2)
    last = audit_action_page(team_id=team.pk, filters=AuditFilters(), number=3, per_page=2)

    assert first.page.paginator.count == 5
    assert first.page.paginator.num_pages == 3
    assert [len(row.outcomes) for row in first.rows] == [1, 1]
    assert [len(row.outcomes) for row in last.rows] == [1]
    # The export is still one line per entry: the evidence.
    assert audit_entries(team_id=team.pk, filters=AuditFilters()).count() == 10


@pytest.mark.parametrize("sends", [2, 30])
def test_a_page_takes_three_queries_however_many_attempts_it_holds(
    team: Team, sends: int, django_assert_num_queries: Any
) -> None:
    for _ in range(sends):
        sent(team)

    with django_assert_num_queries(3):  # the count, the page, the outcomes of its attempts
        shown = audit_action_page(team_id=team.pk, filters=AuditFilters(), number=1, per_page=50)
        outcomes = [row.outcome for row in shown.rows]

    assert outcomes == [Outcome.OK] * sends


# --- In words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "outcome", "words"),
    [
        (Action.DOWNLINK_SEND, Outcome.OK, "Sent downlink — accepted by the API"),
        (Action.DOWNLINK_SEND, Outcome.REFUSED, "Downlink not sent — refused by the API"),
        (Action.DOWNLINK_SEND, Outcome.UNKNOWN, "Send asked — outcome unknown"),
        (Action.DOWNLINK_SEND, "", "Send asked — outcome unknown"),
        (Action.DOWNLINK_CANCEL, Outcome.OK, "Cancel asked — accepted by the API"),
        (Action.DOWNLINK_CANCEL, Outcome.REFUSED, "Cancel asked — refused by the API"),
        (Action.DOWNLINK_CANCEL, Outcome.PENDING, "Cancel asked — outcome unknown"),
        (Action.CREDENTIAL_TESTED, Outcome.FAILED, "Tested connection — failed"),
    ],
)
def test_what_an_attempt_came_to_in_words(action: Action, outcome: str, words: str) -> None:
    assert attempt_in_words(action, outcome) == words


@pytest.mark.parametrize("action", [Action.DOWNLINK_SEND, Action.DOWNLINK_CANCEL])
@pytest.mark.parametrize("outcome", [*Outcome.values, ""])
def test_no_downlink_attempt_reads_as_delivered(action: Action, outcome: str) -> None:
    """The API taking a request in is not the device receiving it."""
    words = attempt_in_words(action, outcome).lower()
    assert "succeeded" not in words
    assert "delivered" not in words


def test_the_stored_outcome_is_unchanged(team: Team) -> None:
    _, answer = sent(team)
    answer.refresh_from_db()
    assert (answer.phase, answer.outcome) == ("outcome", "ok")
