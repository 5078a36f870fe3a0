"""The poller: every downlink the portal sent ends with its true status in the portal.

Per team and kind, one cycle:
1. asks the API for what changed since the last successful cycle (minus an overlap for clock
   skew), sorted by modification time and paged by cursor, and matches the items to the
   portal's records by id. The calls grow with the number of CHANGED downlinks, not with the
   number followed;
2. fetches one by one only the records that no search has shown for a long time (a safety
   net, bounded per cycle);
3. reconciles creates whose outcome is unknown: it looks for them among the device's
   downlinks created since the attempt and links the one that matches what was sent, or,
   after a deadline, records the attempt as not sent. Nothing is ever sent again.

One cycle at a time per team (downlinks.locks); everything it writes is idempotent (status
events are unique per observed state), so a cycle repeated after a crash changes nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry, Outcome
from audit.trail import Origin, record_outcome
from core.server_timing import measured
from devices.models import Kind
from downlinks.locks import LockLost, TeamPollLock, team_poll_lock
from downlinks.models import CancelState, Downlink, SendState, SyncState
from downlinks.selectors import AnyDownlink, resource_for
from downlinks.services import is_newer, record_observation
from teams.connections import NoCredential, team_client
from teams.crypto import DecryptionError
from teams.models import Team
from things_api import (
    CANCELLED,
    SearchFilters,
    SortField,
    ThingsAuthError,
    ThingsError,
    ThingsForbidden,
    ThingsNotFound,
    ThingsUnauthorized,
    parse_simple_duration,
)

logger = logging.getLogger(__name__)

POLLER = Origin.system("poller")
WATERMARK_STEP = timedelta(milliseconds=1)


@dataclass
class KindReport:
    kind: str
    changed: int = 0
    seen: int = 0
    fallbacks: int = 0
    reconciled: int = 0
    given_up: int = 0
    cancels_checked: int = 0
    skipped: str = ""
    error: str = ""
    # The largest modifiedAt the search returned (the API's clock), for the next window.
    watermark: datetime | None = None


@dataclass
class CycleReport:
    team_id: int
    skipped: str = ""
    kinds: list[KindReport] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(kind.changed for kind in self.kinds)


def teams_with_work() -> list[int]:
    """Teams with downlinks still to follow or creates still to reconcile: one poll each."""
    return Downlink.objects.with_work().team_ids()


def _tracked(team: Team, kind: str) -> dict[Any, Downlink]:
    return {
        record.remote_id: record
        for record in Downlink.objects.followed()
        .filter(team=team, kind=kind)
        # What was sent is not needed to follow a downlink; at 10,000 records it adds up.
        .defer("request_body", "send_problem")
    }


LOST_IN_FLIGHT = (
    "The portal lost track of this create while it was being sent: its process ended mid-call."
)


def _unknown(team: Team, kind: str) -> list[Downlink]:
    """Creates of unknown outcome; one stuck in "sending" (its process died mid-call) becomes
    one here."""
    records = list(Downlink.objects.outcome_unknown().filter(team=team, kind=kind))
    for record in records:
        if record.send_state == SendState.SENDING:
            record.send_state = SendState.UNKNOWN
            record.send_message = LOST_IN_FLIGHT
            Downlink.objects.filter(pk=record.pk, send_state=SendState.SENDING).update(
                send_state=SendState.UNKNOWN, send_message=LOST_IN_FLIGHT
            )
    return records


def poll_team(team_id: int) -> CycleReport:
    report = CycleReport(team_id)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        report.skipped = "no such team"
        return report
    with team_poll_lock(team_id, timedelta(seconds=settings.POLL_LOCK_SECONDS)) as lock:
        if lock is None:
            report.skipped = "another poll of this team is running"
            return report
        for kind in (Kind.LORA, Kind.MQTT):
            try:
                report.kinds.append(_sync_kind(team, kind, lock))
            except LockLost:
                report.skipped = "lost the lock"
                break
    return report


def _describe_failure(error: Exception) -> tuple[str, bool]:
    """The error in words, and whether it means the credential was refused."""
    if isinstance(error, ThingsUnauthorized | ThingsAuthError | ThingsForbidden):
        return (
            "The Things API refused the team's credential (it may have expired or been "
            f"revoked): {error}. A team admin must update it on the Credential page.",
            True,
        )
    if isinstance(error, NoCredential | DecryptionError):
        return str(error), True
    return str(error), False


def _sync_kind(team: Team, kind: str, lock: TeamPollLock) -> KindReport:
    report = KindReport(kind)
    state, _ = SyncState.objects.get_or_create(team=team, kind=kind)
    started = timezone.now()
    if state.backoff_until is not None and state.backoff_until > started:
        report.skipped = "backing off after errors"  # before reading what is followed
        return report
    tracked = _tracked(team, kind)
    unknown = _unknown(team, kind)
    if not tracked and not unknown:
        report.skipped = "nothing to follow"
        return report
    clock = time.perf_counter()
    with measured() as timings:
        try:
            _run_kind(team, kind, state, tracked, unknown, report, lock, started)
        except (ThingsError, NoCredential, DecryptionError) as error:
            _record_failure(team, kind, state, error, report, started)
            return report
    state.last_success_at = started
    if report.watermark is not None and (
        state.watermark is None or report.watermark > state.watermark
    ):
        state.watermark = report.watermark
    state.last_attempt_at = started
    state.last_duration_ms = int((time.perf_counter() - clock) * 1000)
    state.last_changed = report.changed
    state.last_api_calls = timings.api_calls
    state.consecutive_failures = 0
    state.backoff_until = None
    state.credential_rejected = False
    state.last_error = ""
    state.save()
    return report


def _run_kind(
    team: Team,
    kind: str,
    state: SyncState,
    tracked: dict[Any, Downlink],
    unknown: list[Downlink],
    report: KindReport,
    lock: TeamPollLock,
    started: datetime,
) -> None:
    resource = resource_for(team_client(team), kind)
    if tracked:
        seen = _follow_changes(resource, team, kind, state, tracked, report, lock)
        _check_cancels(resource, tracked, seen, report, lock, started)
        _fetch_stale(resource, tracked, report, lock, started)
    for record in unknown:
        _reconcile(resource, kind, record, report, started)
        lock.keep_alive()


def _record_failure(
    team: Team,
    kind: str,
    state: SyncState,
    error: Exception,
    report: KindReport,
    started: datetime,
) -> None:
    message, credential = _describe_failure(error)
    state.consecutive_failures += 1
    backoff = min(
        settings.POLL_INTERVAL_SECONDS * 2**state.consecutive_failures,
        settings.POLL_BACKOFF_MAX_SECONDS,
    )
    state.backoff_until = timezone.now() + timedelta(seconds=backoff)
    state.last_error = message[:500]
    state.last_error_at = timezone.now()
    state.credential_rejected = credential
    state.last_attempt_at = started
    state.save()
    report.error = message
    logger.warning("poll of team %s %s failed: %s", team.slug, kind, message)


def _since(state: SyncState, tracked: dict[Any, Downlink]) -> datetime:
    """Where the search starts: just after the watermark, the last change already read (in
    the API's own clock, so no clock difference matters; `modifiedSince` is inclusive, hence
    the millisecond, the API's resolution). Before any change was seen: from the portal's
    clock minus an overlap for the difference. A change that became visible late with an
    older time is caught by the safety net (`_fetch_stale`)."""
    if state.watermark is not None:
        return state.watermark + WATERMARK_STEP
    overlap = timedelta(seconds=settings.POLL_OVERLAP_SECONDS)
    if state.last_success_at is not None:
        return state.last_success_at - overlap
    # Never synced: from the first of the followed downlinks, already read for this cycle.
    earliest = min((record.created_at for record in tracked.values()), default=None)
    return (earliest or timezone.now()) - overlap


def _follow_changes(
    resource: Any,
    team: Team,
    kind: str,
    state: SyncState,
    tracked: dict[Any, Downlink],
    report: KindReport,
    lock: TeamPollLock,
) -> dict[Any, AnyDownlink]:
    """Record what changed; returns the followed downlinks the search showed, by id."""
    filters = SearchFilters(
        modified_since=_since(state, tracked),
        sort=[SortField(field="modifiedAt"), SortField(field="id")],
        limit=settings.POLL_PAGE_SIZE,
    )
    seen: dict[Any, AnyDownlink] = {}
    unchanged: list[int] = []
    for item in resource.iter_search(filters):
        if report.watermark is None or item.modified_at > report.watermark:
            report.watermark = item.modified_at
        record = tracked.get(item.id)
        if record is None or item.id in seen:
            continue
        seen[item.id] = item
        if is_newer(record, item):
            with transaction.atomic():
                report.changed += record_observation(record, item, source="poller")
        else:
            # Seen again in the overlap window, unchanged: one UPDATE for all of them below.
            unchanged.append(record.pk)
        lock.keep_alive()
    now = timezone.now()
    for start in range(0, len(unchanged), 500):
        Downlink.objects.filter(pk__in=unchanged[start : start + 500]).update(last_seen_at=now)
    report.seen = len(seen)
    return seen


def _check_cancels(
    resource: Any,
    tracked: dict[Any, Downlink],
    seen: dict[Any, AnyDownlink],
    report: KindReport,
    lock: TeamPollLock,
    started: datetime,
) -> None:
    """Cancellations whose outcome is unknown: once they are old enough to have taken effect,
    look (the search's answer, or one GET) and say which it was; one that the search saw
    finish is settled at once. Still running: Cancel is offered again."""
    settled = started - timedelta(seconds=settings.CANCEL_SETTLE_SECONDS)
    for record in tracked.values():
        if record.cancel_state != CancelState.UNKNOWN:
            continue
        young = record.cancel_requested_at is not None and record.cancel_requested_at > settled
        if young and not record.is_done:
            continue
        downlink = seen.get(record.remote_id)
        if downlink is None:
            try:
                downlink = resource.get(record.remote_id)
            except ThingsNotFound:
                continue
        with transaction.atomic():
            report.changed += record_observation(record, downlink, source="poller")
            _settle_cancel(record, downlink)
        report.cancels_checked += 1
        lock.keep_alive()


def _settle_cancel(record: Downlink, downlink: AnyDownlink) -> None:
    took_effect = downlink.is_done and downlink.last_failure_reason == CANCELLED
    record.cancel_state = CancelState.ACCEPTED if took_effect else CancelState.NOT_TAKEN
    record.save(update_fields=["cancel_state"])
    if took_effect:
        summary = "The cancellation took effect: the downlink ended as CANCELLED"
    elif downlink.is_done:
        summary = (
            "The cancellation did not take effect: the downlink finished without being "
            f"cancelled ({downlink.last_failure_reason or 'delivered'})"
        )
    else:
        summary = (
            f"The cancellation did not take effect: the downlink was still {downlink.status} "
            "afterwards; Cancel is offered again"
        )
    attempt = (
        AuditEntry.objects.filter(sequence=record.cancel_attempt_sequence).first()
        if record.cancel_attempt_sequence is not None
        else None
    )
    if attempt is not None:
        record_outcome(
            attempt,
            outcome=Outcome.OK if took_effect else Outcome.FAILED,
            origin=POLLER,
            answered={"reconciled": True, "downlinkStatus": downlink.status},
            summary=summary,
        )


def _fetch_stale(
    resource: Any,
    tracked: dict[Any, Downlink],
    report: KindReport,
    lock: TeamPollLock,
    started: datetime,
) -> None:
    """The safety net: GET records that no search has shown for too long."""
    threshold = started - timedelta(seconds=settings.POLL_FALLBACK_AFTER_SECONDS)
    stale = sorted(
        (
            record
            for record in tracked.values()
            if record.last_seen_at is None or record.last_seen_at < threshold
        ),
        key=lambda record: record.last_seen_at or record.created_at,
    )[: settings.POLL_FALLBACK_MAX_PER_CYCLE]
    for record in stale:
        try:
            downlink: AnyDownlink = resource.get(record.remote_id)
        except ThingsNotFound:
            record.last_seen_at = timezone.now()
            record.save(update_fields=["last_seen_at"])
            continue
        with transaction.atomic():
            report.changed += record_observation(record, downlink, source="poller")
        report.fallbacks += 1
        lock.keep_alive()


def _matches(candidate: AnyDownlink, sent: dict[str, Any]) -> bool:
    """Is `candidate` the downlink whose create body was `sent`?"""
    raw = candidate.raw
    sent_message: dict[str, Any] = sent.get("message", {})
    message: dict[str, Any] = raw.get("message", {}) if isinstance(raw.get("message"), dict) else {}
    for key, value in sent_message.items():
        theirs = message.get(key)
        if key == "payloadHex":
            if str(theirs).lower() != str(value).lower():
                return False
        elif theirs != value:
            return False
    try:
        if parse_simple_duration(str(raw.get("feedbackTimeout"))) != parse_simple_duration(
            str(sent.get("feedbackTimeout"))
        ):
            return False
    except ValueError:
        return False
    if bool(raw.get("dryRun", False)) != bool(sent.get("dryRun", False)):
        return False
    return "retryLimit" not in sent or raw.get("retryLimit", 0) == sent["retryLimit"]


def _reconcile(
    resource: Any, kind: str, record: Downlink, report: KindReport, started: datetime
) -> None:
    overlap = timedelta(seconds=settings.POLL_OVERLAP_SECONDS)
    filters = SearchFilters(
        device_id=record.device_id,
        created_since=record.created_at - overlap,
        sort=[SortField(field="createdAt")],
        limit=settings.POLL_PAGE_SIZE,
    )
    candidates = [
        item for item in resource.iter_search(filters) if _matches(item, record.request_body)
    ]
    linked = set(
        Downlink.objects.filter(
            team=record.team, kind=kind, remote_id__in=[item.id for item in candidates]
        ).values_list("remote_id", flat=True)
    )
    match = next((item for item in candidates if item.id not in linked), None)
    attempt = (
        AuditEntry.objects.filter(sequence=record.send_attempt_sequence).first()
        if record.send_attempt_sequence is not None
        else None
    )
    if match is not None:
        with transaction.atomic():
            record.remote_id = match.id
            record.send_state = SendState.SENT
            record_observation(record, match, source="reconciled")
            if attempt is not None:
                record_outcome(
                    attempt,
                    outcome=Outcome.OK,
                    origin=POLLER,
                    target_id=str(match.id),
                    answered={
                        "reconciled": True,
                        "id": str(match.id),
                        "downlinkStatus": match.status,
                    },
                    summary="The create did arrive: found on the platform and linked",
                )
        report.reconciled += 1
        return
    deadline = record.created_at + timedelta(seconds=settings.RECONCILE_DEADLINE_SECONDS)
    if started > deadline:
        with transaction.atomic():
            record.send_state = SendState.NOT_SENT
            record.save(update_fields=["send_state"])
            if attempt is not None:
                minutes = settings.RECONCILE_DEADLINE_SECONDS // 60
                record_outcome(
                    attempt,
                    outcome=Outcome.NOT_SENT,
                    origin=POLLER,
                    answered={"reconciled": True, "found": False},
                    summary=(
                        f"Not found on the platform within {minutes} minutes: recorded as not sent"
                    ),
                )
        report.given_up += 1
