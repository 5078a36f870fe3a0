"""Reading the audit trail."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, QuerySet

from audit.models import AuditEntry, Outcome, Phase, attempt_in_words


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""
    action: str = ""
    device_id: str = ""
    since: datetime | None = None
    before: datetime | None = None


def _filtered(team_id: int | None, filters: AuditFilters) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if team_id is not None:
        entries = entries.filter(team_id=team_id)
    if filters.person:
        entries = entries.filter(actor_label__iexact=filters.person)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.device_id:
        entries = entries.filter(device_id__iexact=filters.device_id)
    if filters.since is not None:
        entries = entries.filter(created_at__gte=filters.since)
    if filters.before is not None:
        entries = entries.filter(created_at__lt=filters.before)
    return entries


def audit_entries(*, team_id: int | None, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries newest first, one per entry (the CSV export: the evidence); `team_id=None`
    means every team (superusers only).

    Each entry carries `has_outcome`: an attempt without one is shown as "outcome unknown".
    """
    outcomes = AuditEntry.objects.filter(phase=Phase.OUTCOME, attempt_sequence=OuterRef("sequence"))
    return _filtered(team_id, filters).annotate(has_outcome=Exists(outcomes)).order_by("-sequence")


@dataclass(frozen=True)
class AuditAction:
    """One row of the audit page: an entry that is not the outcome of an attempt (an event,
    or an attempt), with, for an attempt, the outcome entries that complete it, oldest first
    (usually one; a later one settles an earlier "outcome unknown")."""

    entry: AuditEntry
    outcomes: tuple[AuditEntry, ...] = ()

    @property
    def is_attempt(self) -> bool:
        return self.entry.phase == Phase.ATTEMPT

    @property
    def outcome(self) -> str:
        """What the action came to: an attempt's latest outcome ("" when it has none), an
        event's own."""
        if self.is_attempt:
            return self.outcomes[-1].outcome if self.outcomes else ""
        return self.entry.outcome

    @property
    def outcome_unknown(self) -> bool:
        """An attempt whose outcome was never recorded, or was recorded as unknown."""
        return self.is_attempt and self.outcome in ("", Outcome.PENDING, Outcome.UNKNOWN)

    @property
    def words(self) -> str:
        """The action, and for an attempt what came of it, in words."""
        if self.is_attempt:
            return attempt_in_words(self.entry.action, self.outcome)
        return self.entry.get_action_display()

    @property
    def target_id(self) -> str:
        """What the action was done to: the attempt's target, or the one its outcome names
        (a send's downlink has its id only once the API has answered)."""
        if self.entry.target_id:
            return self.entry.target_id
        return next((o.target_id for o in reversed(self.outcomes) if o.target_id), "")


def audit_actions(*, team_id: int | None, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The entries the audit page lists, newest first: events and attempts, not the outcomes
    of attempts (those are shown with their attempt, see `with_outcomes`). The filters apply
    to the action: an attempt in the time range is listed with its outcome, whenever and by
    whomever (the poller) that was recorded."""
    return (
        _filtered(team_id, filters)
        .exclude(phase=Phase.OUTCOME, attempt_sequence__isnull=False)
        .order_by("-sequence")
    )


def with_outcomes(entries: Iterable[AuditEntry], *, team_id: int | None) -> list[AuditAction]:
    """`entries` as rows, each attempt with its outcomes: one query for all of them."""
    listed = list(entries)
    attempts = [entry.sequence for entry in listed if entry.phase == Phase.ATTEMPT]
    outcomes: dict[int, list[AuditEntry]] = defaultdict(list)
    if attempts:
        found = AuditEntry.objects.filter(phase=Phase.OUTCOME, attempt_sequence__in=attempts)
        if team_id is not None:
            # An outcome repeats its attempt's team; a team's page never shows another's.
            found = found.filter(team_id=team_id)
        for outcome in found.order_by("sequence"):
            if outcome.attempt_sequence is not None:
                outcomes[outcome.attempt_sequence].append(outcome)
    return [AuditAction(entry, tuple(outcomes.get(entry.sequence, ()))) for entry in listed]


@dataclass(frozen=True)
class AuditActionPage:
    """A page of the audit page's rows: `page` for the pager (it counts actions, not
    entries), `rows` what it holds."""

    page: Page[AuditEntry]
    rows: list[AuditAction]


def audit_action_page(
    *, team_id: int | None, filters: AuditFilters, number: str | int | None, per_page: int
) -> AuditActionPage:
    """Page `number` (anything a URL can hold: out of range or not a number is the last or
    first page) of the actions, each attempt with its outcomes: three queries (the count, the
    page, the outcomes of its attempts) however long the page."""
    page = Paginator(audit_actions(team_id=team_id, filters=filters), per_page).get_page(number)
    return AuditActionPage(page, with_outcomes(page.object_list, team_id=team_id))
