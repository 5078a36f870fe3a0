"""Reads for the dashboard: downlinks from the Things API (the truth), joined with what the
portal knows of them (who sent them from here, the status changes it saw, the audit trail).

Every read goes through the team's own credential, so a downlink of another team is simply
not found (404), whatever id is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEntry
from downlinks.models import Downlink, Kind, Origin, StatusEvent, SyncState
from teams.connections import team_client
from teams.models import Team
from things_api import (
    DownlinkResource,
    LoraDownlink,
    MqttDownlink,
    SearchFilters,
    ThingsClient,
)

type AnyDownlink = LoraDownlink | MqttDownlink


def resource_for(client: ThingsClient, kind: str) -> DownlinkResource:  # type: ignore[type-arg]
    return client.lora if kind == Kind.LORA else client.mqtt


def cursor_of(link: str | None) -> str | None:
    """The opaque cursor inside a next/prev link, which our own URL carries instead."""
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[0] if values else None


@dataclass(frozen=True)
class DownlinkRow:
    downlink: AnyDownlink
    record: Downlink | None

    @property
    def cancel_pending(self) -> bool:
        """A cancellation may yet take effect (accepted, or of unknown outcome): Cancel is not
        offered again until it either takes effect or is seen not to have."""
        return bool(
            self.record is not None and self.record.cancel_is_pending and self.downlink.is_running
        )


@dataclass(frozen=True)
class DownlinkListPage:
    rows: list[DownlinkRow]
    next_cursor: str | None
    prev_cursor: str | None
    unresolved_sends: list[Downlink] = field(default_factory=list)

    @property
    def any_running(self) -> bool:
        return any(row.downlink.is_running for row in self.rows)


def downlink_page(*, team: Team, kind: str, filters: SearchFilters) -> DownlinkListPage:
    """One page of the team's downlinks of `kind`; raises ThingsError when the API fails."""
    page = resource_for(team_client(team), kind).search(filters)
    ids = [item.id for item in page.items]
    records = {
        record.remote_id: record
        for record in Downlink.objects.filter(team=team, kind=kind, remote_id__in=ids)
    }
    unresolved = list(
        Downlink.objects.outcome_unknown().filter(team=team, kind=kind).order_by("-created_at")[:5]
    )
    return DownlinkListPage(
        rows=[DownlinkRow(item, records.get(item.id)) for item in page.items],
        next_cursor=cursor_of(page.next),
        prev_cursor=cursor_of(page.prev),
        unresolved_sends=unresolved,
    )


@dataclass(frozen=True)
class DownlinkDetail:
    downlink: AnyDownlink
    record: Downlink | None
    events: list[StatusEvent]
    audit_entries: list[AuditEntry]

    @property
    def cancel_pending(self) -> bool:
        return DownlinkRow(self.downlink, self.record).cancel_pending


def downlink_fetch(*, team: Team, kind: str, downlink_id: UUID) -> AnyDownlink:
    """The downlink as the API has it now; ThingsNotFound for another team's id."""
    downlink: AnyDownlink = resource_for(team_client(team), kind).get(downlink_id)
    return downlink


def downlink_record(*, team: Team, kind: str, downlink_id: UUID) -> Downlink | None:
    """The portal's record of a downlink; None if it was neither sent nor cancelled here."""
    return (
        Downlink.objects.filter(team=team, kind=kind, remote_id=downlink_id)
        .select_related("sent_by")
        .first()
    )


def send_attempt(*, team: Team, kind: str, record_id: int) -> SendAttempt | None:
    """One create the portal attempted, with its audit entries; None if not this team's."""
    record = (
        Downlink.objects.filter(team=team, kind=kind, pk=record_id, origin=Origin.SENT_HERE)
        .select_related("sent_by")
        .first()
    )
    if record is None:
        return None
    entries: list[AuditEntry] = []
    if record.send_attempt_sequence is not None:
        entries = list(
            AuditEntry.objects.filter(team_id=team.pk)
            .filter(
                Q(sequence=record.send_attempt_sequence)
                | Q(attempt_sequence=record.send_attempt_sequence)
            )
            .order_by("sequence")
        )
    return SendAttempt(record=record, audit_entries=entries)


@dataclass(frozen=True)
class SendAttempt:
    record: Downlink
    audit_entries: list[AuditEntry]

    @property
    def reconcile_deadline(self) -> datetime:
        return self.record.created_at + timedelta(seconds=settings.RECONCILE_DEADLINE_SECONDS)


def downlink_history(
    *, team: Team, kind: str, downlink: AnyDownlink, record: Downlink | None
) -> DownlinkDetail:
    """`record` is `downlink_record()`'s, read once by the detail page (which may have just
    recorded an observation on it)."""
    events = list(record.events.all()) if record is not None else []
    target_ids = [str(downlink.id)]
    entries = AuditEntry.objects.filter(team_id=team.pk, target_id__in=target_ids)
    if record is not None and record.send_attempt_sequence is not None:
        entries = entries | AuditEntry.objects.filter(
            team_id=team.pk, sequence=record.send_attempt_sequence
        )
    return DownlinkDetail(
        downlink=downlink,
        record=record,
        events=events,
        audit_entries=list(entries.order_by("sequence")),
    )


@dataclass(frozen=True)
class SyncOverview:
    kind: str
    state: SyncState | None
    following: int
    unknown_outcomes: int

    @property
    def lag_seconds(self) -> float | None:
        if self.state is None or self.state.last_success_at is None:
            return None
        return (timezone.now() - self.state.last_success_at).total_seconds()


def sync_overview(*, team: Team) -> list[SyncOverview]:
    states = {state.kind: state for state in SyncState.objects.filter(team=team)}
    overview = []
    for kind in (Kind.LORA, Kind.MQTT):
        records = Downlink.objects.filter(team=team, kind=kind)
        overview.append(
            SyncOverview(
                kind=kind,
                state=states.get(kind),
                following=records.followed().count(),
                unknown_outcomes=records.outcome_unknown().count(),
            )
        )
    return overview


def credential_problem(*, team: Team) -> SyncState | None:
    """The poller's latest refusal of the team's credential, if that is the current state."""
    return SyncState.objects.filter(team=team, credential_rejected=True).first()
