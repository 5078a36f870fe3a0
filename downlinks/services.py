"""Writes of the dashboard: sending and cancelling downlinks, and recording what was seen.

Sending and cancelling follow one pattern: an audit attempt entry is committed BEFORE the API
call, and an outcome entry after it. A crash in between leaves an attempt without an outcome,
which the audit page shows as "outcome unknown". A create whose answer never arrived is never
sent again by itself; it is recorded as outcome unknown (and reconciled by the poller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action, AuditEntry, Outcome
from audit.trail import Origin, TeamRef, record_attempt, record_outcome
from downlinks.models import Downlink, Kind, SendState, StatusEvent
from downlinks.models import Origin as RecordOrigin
from downlinks.selectors import AnyDownlink, resource_for
from downlinks.things import (
    NewLoraDownlink,
    NewMqttDownlink,
    ThingsAPIError,
    ThingsConflict,
    ThingsError,
    ThingsNotFound,
    ThingsRateLimited,
)
from teams.connections import NoCredential, team_client
from teams.crypto import DecryptionError
from teams.models import Team

PREVIEW_BYTES = 16


def team_ref(team: Team) -> TeamRef:
    return TeamRef(team.pk, team.slug)


def payload_summary(kind: str, wire: dict[str, Any]) -> str:
    """A short, readable summary of what a downlink carries, for lists and the audit trail."""
    message = wire.get("message", {})
    if kind == Kind.LORA:
        payload_hex = str(message.get("payloadHex", ""))
        size = len(payload_hex) // 2
        preview = payload_hex[: PREVIEW_BYTES * 2].upper()
        more = "…" if size > PREVIEW_BYTES else ""
        return (
            f"{size} byte{'s' if size != 1 else ''} {preview}{more} on fPort {message.get('fPort')}"
        )
    payload = str(message.get("payload", ""))
    topic = message.get("topic", "")
    if message.get("type") == "binary":
        return f"binary ({len(payload)} base64 characters) to {topic}"
    preview = payload[:40] + ("…" if len(payload) > 40 else "")
    return f"text “{preview}” to {topic}"


def audit_asked(kind: str, wire: dict[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a create: everything but the full payload."""
    message = dict(wire.get("message", {}))
    payload_key = "payloadHex" if kind == Kind.LORA else "payload"
    payload = str(message.pop(payload_key, ""))
    message[f"{payload_key}Length"] = len(payload)
    message[f"{payload_key}Preview"] = payload[:32]
    return {**{k: v for k, v in wire.items() if k != "message"}, "message": message}


def answered_by(error: ThingsError) -> dict[str, Any]:
    if isinstance(error, ThingsAPIError):
        problem = error.problem.model_dump(exclude_none=True) if error.problem else {}
        return {"status": error.status_code, **problem}
    return {"error": type(error).__name__, "detail": error.describe()}


def _observed_state(downlink: AnyDownlink) -> dict[str, Any]:
    return {
        "status": downlink.status,
        "last_failure_reason": downlink.last_failure_reason or "",
        "retry_count": getattr(downlink, "retry_count", None),
        "remote_created_at": downlink.created_at,
        "remote_modified_at": downlink.modified_at,
    }


def is_newer(record: Downlink, downlink: AnyDownlink) -> bool:
    """Does the API's answer tell the record something it does not know yet?"""
    return record.remote_modified_at is None or downlink.modified_at > record.remote_modified_at


def record_observation(record: Downlink, downlink: AnyDownlink, *, source: str) -> bool:
    """Store what was seen of a tracked downlink; returns True if it was a change.

    The status event is unique per (downlink, status, failure reason, retry count), so the
    same change seen twice (by a page and the poller, or two pollers) is stored once.
    """
    state = _observed_state(downlink)
    newer = record.remote_modified_at is None or downlink.modified_at >= record.remote_modified_at
    changed = newer and (
        record.status != state["status"]
        or record.last_failure_reason != state["last_failure_reason"]
        or record.retry_count != state["retry_count"]
    )
    if newer:
        for name, value in state.items():
            setattr(record, name, value)
    record.last_seen_at = timezone.now()
    record.save()
    if changed:
        try:
            with transaction.atomic():
                StatusEvent.objects.create(
                    downlink=record,
                    status=downlink.status,
                    last_failure_reason=downlink.last_failure_reason or "",
                    retry_count=getattr(downlink, "retry_count", 0) or 0,
                    remote_modified_at=downlink.modified_at,
                    source=source,
                )
        except IntegrityError:
            return False
    return changed


@dataclass(frozen=True)
class SendResult:
    record: Downlink
    outcome: Outcome
    downlink: AnyDownlink | None = None
    error: ThingsError | None = None
    message: str = ""


def _send_failure(error: Exception) -> tuple[Outcome, SendState, str]:
    """How a failed create is recorded, and what the person is told."""
    if isinstance(error, ThingsError) and error.outcome_unknown:
        return (
            Outcome.UNKNOWN,
            SendState.UNKNOWN,
            f"{error.describe()} The downlink may or may not have been created. It will not "
            "be sent again automatically; the portal will look for it and update this record.",
        )
    if isinstance(error, ThingsRateLimited):
        # Not the input's fault: the API did not take the request in; nothing was created.
        return Outcome.FAILED, SendState.FAILED, f"{error.describe()} Nothing was sent."
    if isinstance(error, ThingsAPIError):
        return Outcome.REFUSED, SendState.REFUSED, error.describe()
    if isinstance(error, ThingsError):
        return Outcome.FAILED, SendState.FAILED, f"{error.describe()} Nothing was sent."
    return Outcome.FAILED, SendState.FAILED, f"{error} Nothing was sent."


def downlink_send(
    *,
    team: Team,
    kind: str,
    new: NewLoraDownlink | NewMqttDownlink,
    origin: Origin,
    user: AbstractBaseUser | AnonymousUser | None,
) -> SendResult:
    wire = new.to_wire()
    summary = payload_summary(kind, wire)
    with transaction.atomic():
        attempt = record_attempt(
            Action.DOWNLINK_SEND,
            origin=origin,
            team=team_ref(team),
            target_kind=kind,
            device_id=new.device_id,
            asked=audit_asked(kind, wire),
            summary=f"Send {Kind(kind).label} downlink: {summary}",
        )
        record = Downlink.objects.create(
            team=team,
            kind=kind,
            device_id=new.device_id,
            sent_by_id=user.pk if user is not None and user.is_authenticated else None,
            sent_by_label=origin.actor_label,
            request_body=wire,
            payload_summary=summary[:200],
            send_state=SendState.SENDING,
            send_attempt_sequence=attempt.sequence,
        )
    try:
        created: AnyDownlink = resource_for(team_client(team), kind).create(new)
    except (ThingsError, NoCredential, DecryptionError) as error:
        outcome, state, message = _send_failure(error)
        answered = answered_by(error) if isinstance(error, ThingsError) else {"detail": str(error)}
        with transaction.atomic():
            record_outcome(
                attempt, outcome=outcome, origin=origin, answered=answered, summary=message[:300]
            )
            record.send_state = state
            record.send_problem = answered
            record.save(update_fields=["send_state", "send_problem"])
        return SendResult(
            record,
            outcome,
            error=error if isinstance(error, ThingsError) else None,
            message=message,
        )
    with transaction.atomic():
        record_outcome(
            attempt,
            outcome=Outcome.OK,
            origin=origin,
            target_id=str(created.id),
            answered={"status": 201, "id": str(created.id), "downlinkStatus": created.status},
            summary=f"Created {created.id}",
        )
        record.remote_id = created.id
        record.send_state = SendState.SENT
        record_observation(record, created, source="send")
    return SendResult(record, Outcome.OK, downlink=created, message="The downlink was sent.")


@dataclass(frozen=True)
class CancelResult:
    accepted: bool
    message: str
    downlink: AnyDownlink | None = None
    # REFUSED: the API said no (409, 404); FAILED/UNKNOWN: it could not be asked or did not
    # answer usably, which is the upstream's failure and not a refusal.
    outcome: Outcome = Outcome.OK
    error: ThingsError | None = None


def explain_conflict(error: ThingsConflict, downlink: AnyDownlink | None, *, forced: bool) -> str:
    """A 409 in words, from what we know of the downlink's state."""
    summary = error.problem.summary().rstrip(".") if error.problem else ""
    said = f" (The Things API said: {summary}.)" if summary else ""
    if downlink is not None and downlink.is_done:
        if downlink.last_failure_reason == "CANCELLED":
            how = "it was cancelled already"
        elif downlink.last_failure_reason:
            how = f"it failed with {downlink.last_failure_reason}"
        else:
            how = "it was delivered successfully"
        return f"This downlink cannot be cancelled: it has already finished ({how}).{said}"
    if downlink is not None and not forced and downlink.status == "EXECUTING":
        return (
            "This downlink is already being delivered, so a normal cancel is refused. A forced "
            f"cancel aborts it anyway (the device may have received it already).{said}"
        )
    return f"The Things API refused to cancel this downlink in its current state.{said}"


def downlink_cancel(
    *, team: Team, kind: str, before: AnyDownlink, forced: bool, origin: Origin
) -> CancelResult:
    """Ask the API to cancel `before`, the downlink as the caller has just read it (its state
    explains a refusal, and the confirmation page needed the same read)."""
    downlink_id = before.id
    with transaction.atomic():
        attempt: AuditEntry = record_attempt(
            Action.DOWNLINK_CANCEL,
            origin=origin,
            team=team_ref(team),
            target_kind=kind,
            target_id=str(downlink_id),
            device_id=before.device_id,
            asked={"forced": forced, "statusBefore": before.status},
            summary=f"Cancel{' (forced)' if forced else ''} {Kind(kind).label} downlink",
        )
    try:
        resource_for(team_client(team), kind).cancel(downlink_id, forced=forced)
    except ThingsConflict as conflict:
        message = explain_conflict(conflict, before, forced=forced)
        with transaction.atomic():
            record_outcome(
                attempt,
                outcome=Outcome.REFUSED,
                origin=origin,
                answered=answered_by(conflict),
                summary=message[:300],
            )
        return CancelResult(False, message, before, outcome=Outcome.REFUSED, error=conflict)
    except ThingsNotFound as missing:
        message = "The Things API no longer knows this downlink, so it was not cancelled."
        with transaction.atomic():
            record_outcome(
                attempt,
                outcome=Outcome.REFUSED,
                origin=origin,
                answered=answered_by(missing),
                summary=message,
            )
        return CancelResult(False, message, before, outcome=Outcome.REFUSED, error=missing)
    except ThingsError as error:
        outcome = Outcome.UNKNOWN if error.outcome_unknown else Outcome.FAILED
        message = f"{error.describe()} " + (
            "The cancellation may or may not have been accepted; the list will show it."
            if error.outcome_unknown
            else "The cancellation was not sent."
        )
        with transaction.atomic():
            record_outcome(
                attempt,
                outcome=outcome,
                origin=origin,
                answered=answered_by(error),
                summary=message[:300],
            )
        return CancelResult(False, message, before, outcome=outcome, error=error)
    with transaction.atomic():
        record_outcome(
            attempt,
            outcome=Outcome.OK,
            origin=origin,
            answered={"status": 202},
            summary="Cancellation accepted",
        )
        record, _ = Downlink.objects.get_or_create(
            team=team,
            kind=kind,
            remote_id=downlink_id,
            defaults={
                "origin": RecordOrigin.CANCELLED_HERE,
                "device_id": before.device_id,
                "send_state": SendState.SENT,
            },
        )
        record.cancel_requested_at = timezone.now()
        record.cancel_forced = forced
        record_observation(record, before, source="cancel")
    return CancelResult(
        True,
        "Cancellation requested. The Things API accepted it and will process it shortly; the "
        "downlink then ends as DONE with reason CANCELLED.",
        before,
    )


def downlinks_observe(
    *,
    team: Team,
    kind: str,
    downlinks: list[AnyDownlink],
    source: str,
    records: Mapping[UUID, Downlink] | None = None,
) -> int:
    """Record what a page showed of downlinks the portal follows; returns how many changed.

    `records`: the portal's records of these downlinks by remote id, when the caller has just
    read them (the list page has), which spares a query; otherwise they are read here.
    """
    if records is None:
        records = {
            record.remote_id: record
            for record in Downlink.objects.filter(
                team=team, kind=kind, remote_id__in=[downlink.id for downlink in downlinks]
            )
            if record.remote_id is not None
        }
    changed = 0
    for downlink in downlinks:
        record = records.get(downlink.id)
        if record is not None and is_newer(record, downlink):
            with transaction.atomic():
                changed += record_observation(record, downlink, source=source)
    return changed
