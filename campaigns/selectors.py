"""Reads of campaigns: each row's outcome (how far the campaign got with it and, once sent,
what its downlink record says: the poller keeps that up to date), the counts of a campaign in
one query, its rows filtered and paged, and a team's campaigns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, CampaignRow, RowState
from downlinks.models import SendState
from teams.models import Team
from things_api import CANCELLED, DONE, same_device_key

ROWS_PER_PAGE = 50


class Outcome:
    """A row's outcome, by its value: the words the page and the CSV use."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"
    SKIPPED = "skipped"
    STOPPED = "stopped"
    INVALID = "invalid"


OUTCOME_LABELS: dict[str, str] = {
    Outcome.QUEUED: "Queued",
    Outcome.SENDING: "Sending",
    Outcome.SENT: "Sent, not finished yet",
    Outcome.DELIVERED: "Delivered",
    Outcome.FAILED: "Failed",
    Outcome.CANCELLED: "Cancelled on the platform",
    Outcome.REFUSED: "Refused by the API",
    Outcome.UNKNOWN: "Outcome unknown",
    Outcome.NOT_SENT: "Not sent",
    Outcome.SKIPPED: "Skipped: already on its way",
    Outcome.STOPPED: "Not sent: campaign cancelled",
    Outcome.INVALID: "Not sendable",
}
# Still to be sent; and the outcomes a row cannot leave any more (the rest may still change:
# a sent row is delivered or fails later, an unknown one is reconciled).
WAITING = (Outcome.QUEUED, Outcome.SENDING)

_SENT = Q(downlink__send_state=SendState.SENT)
_DONE = _SENT & Q(downlink__status=DONE)
ROW_OUTCOME = Case(
    When(state=RowState.INVALID, then=Value(Outcome.INVALID)),
    When(state=RowState.QUEUED, then=Value(Outcome.QUEUED)),
    When(state=RowState.SENDING, then=Value(Outcome.SENDING)),
    When(state=RowState.SKIPPED, then=Value(Outcome.SKIPPED)),
    When(state=RowState.CANCELLED, then=Value(Outcome.STOPPED)),
    When(_DONE & Q(downlink__last_failure_reason=""), then=Value(Outcome.DELIVERED)),
    When(_DONE & Q(downlink__last_failure_reason=CANCELLED), then=Value(Outcome.CANCELLED)),
    When(_DONE, then=Value(Outcome.FAILED)),
    When(_SENT, then=Value(Outcome.SENT)),
    When(downlink__send_state=SendState.REFUSED, then=Value(Outcome.REFUSED)),
    When(
        downlink__send_state__in=[SendState.FAILED, SendState.NOT_SENT],
        then=Value(Outcome.NOT_SENT),
    ),
    default=Value(Outcome.UNKNOWN),
    output_field=CharField(),
)


ANNOTATIONS = ("outcome", "reason")


def annotated_rows(campaign: Campaign) -> QuerySet[CampaignRow, Any]:
    """The campaign's rows with `outcome` and `reason` (the downlink's failure reason)."""
    return CampaignRow.objects.filter(campaign=campaign).annotate(
        outcome=ROW_OUTCOME,
        reason=Coalesce(F("downlink__last_failure_reason"), Value("")),
    )


@dataclass
class Counts:
    by_outcome: dict[str, int] = field(default_factory=dict)
    failed_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    def of(self, outcome: str) -> int:
        return self.by_outcome.get(outcome, 0)

    @property
    def waiting(self) -> int:
        return sum(self.of(outcome) for outcome in WAITING)

    @property
    def to_send(self) -> int:
        """The rows the campaign sends (or sent, or stopped): not those it could not."""
        return self.total - self.of(Outcome.INVALID)

    @property
    def percent_done(self) -> int:
        """How far the sending is: the rows it is done with, of those it sends."""
        if not self.to_send:
            return 100
        return (self.to_send - self.waiting) * 100 // self.to_send

    def listed(self) -> list[tuple[str, str, int]]:
        """(value, words, count) for every outcome that has rows, in the order of the labels."""
        return [
            (outcome, label, self.of(outcome))
            for outcome, label in OUTCOME_LABELS.items()
            if self.of(outcome)
        ]

    def in_words(self) -> str:
        return ", ".join(f"{count} {label.lower()}" for _, label, count in self.listed()) or (
            "no rows"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"outcomes": self.by_outcome, "failedByReason": self.failed_by_reason}


def campaign_counts(campaign: Campaign) -> Counts:
    """Every outcome's count and the failures by reason, in one query."""
    counts = Counts()
    grouped = annotated_rows(campaign).values(*ANNOTATIONS).annotate(n=Count("pk")).order_by()
    for group in grouped:
        outcome, number = group["outcome"], group["n"]
        counts.by_outcome[outcome] = counts.by_outcome.get(outcome, 0) + number
        if outcome == Outcome.FAILED:
            reason = group["reason"] or "?"
            counts.failed_by_reason[reason] = counts.failed_by_reason.get(reason, 0) + number
    return counts


def duration_in_words(duration: timedelta) -> str:
    """ "40 seconds", "3 minutes", "1 hour 5 minutes": what an ETA needs, no more."""
    seconds = max(1, round(duration.total_seconds()))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} minutes"
    hours, minutes = divmod(minutes, 60)
    words = f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{words} {minutes} minute{'s' if minutes != 1 else ''}" if minutes else words


def eta(campaign: Campaign, counts: Counts) -> str:
    """How long the rows still to send take at the campaign's rate, in words ("" if none)."""
    if not counts.waiting:
        return ""
    rate = campaign.rate or campaign.team.campaign_rate
    return duration_in_words(timedelta(seconds=counts.waiting / max(rate, 1)))


def rows_with_outcome(campaign: Campaign, outcomes: list[str]) -> QuerySet[CampaignRow, Any]:
    return annotated_rows(campaign).filter(Q(outcome__in=outcomes)).order_by("position")


def row_page(campaign: Campaign, *, outcome: str, q: str, number: str | None) -> Page[CampaignRow]:
    rows = annotated_rows(campaign).select_related("downlink").order_by("position")
    if outcome:
        rows = rows.filter(Q(outcome=outcome))
    if q:
        rows = rows.filter(device_id__icontains=same_device_key(q))
    return Paginator(rows, ROWS_PER_PAGE).get_page(number)


def campaigns_of(team: Team) -> QuerySet[Campaign]:
    """The team's campaigns, newest first, with their row totals and rows still to send."""
    return (
        Campaign.objects.filter(team=team)
        .select_related("template_version__template")
        .annotate(
            row_total=Count("rows"),
            rows_waiting=Count(
                "rows", filter=Q(rows__state__in=[RowState.QUEUED, RowState.SENDING])
            ),
        )
    )


def campaign_of(team: Team, pk: int) -> Campaign | None:
    return (
        Campaign.objects.filter(team=team, pk=pk)
        .select_related("team", "template_version__template", "rerun_of")
        .first()
    )
