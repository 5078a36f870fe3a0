"""Writes of the dashboard: sending and cancelling downlinks, and recording what was seen.

Sending and cancelling follow one pattern: an audit attempt entry is committed BEFORE the API
call, and an outcome entry after it. A crash in between leaves an attempt without an outcome,
which the audit page shows as "outcome unknown". A create whose answer never arrived is never
sent again by itself; it is recorded as outcome unknown (and reconciled by the poller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action, AuditEntry, Outcome
from audit.trail import Origin, record_attempt, record_outcome
from command_templates.models import TemplateVersion
from devices.models import CodecVersion, Kind
from downlinks.models import CancelState, Downlink, SendState, StatusEvent
from downlinks.models import Origin as RecordOrigin
from downlinks.selectors import AnyDownlink, resource_for
from teams.connections import NoCredential, team_client
from teams.crypto import DecryptionError
from teams.models import Team
from teams.services import team_ref
from things_api import (
    CANCELLED,
    EXECUTING,
    NewLoraDownlink,
    NewMqttDownlink,
    Pace,
    ThingsAPIError,
    ThingsConflict,
    ThingsError,
    ThingsNotFound,
    ThingsRateLimited,
    same_device_key,
)

PREVIEW_BYTES = 16


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


def _differs(record: Downlink, state: dict[str, Any]) -> bool:
    return bool(
        record.status != state["status"]
        or record.last_failure_reason != state["last_failure_reason"]
        or record.retry_count != state["retry_count"]
    )


def is_newer(record: Downlink, downlink: AnyDownlink) -> bool:
    """Does the API's answer tell the record something it does not know yet?

    The one definition of "newer": modified later than what the record holds, or at the same
    moment with another state (two changes within the API's clock resolution). An older
    answer (a page read before the poller's) never overwrites a newer one.
    """
    known = record.remote_modified_at
    if known is None or downlink.modified_at > known:
        return True
    return downlink.modified_at == known and _differs(record, _observed_state(downlink))


def record_observation(record: Downlink, downlink: AnyDownlink, *, source: str) -> bool:
    """Store what was seen of a tracked downlink; returns True if it was a change.

    The status event is unique per (downlink, status, failure reason, retry count), so the
    same change seen twice (by a page and the poller, or two pollers) is stored once.
    """
    event = _observe(record, downlink, source=source)
    record.save()
    if event is None:
        return False
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        return False
    return True


def _observe(record: Downlink, downlink: AnyDownlink, *, source: str) -> StatusEvent | None:
    """Put what was seen on `record` (not saved yet); the status event to store, if the
    downlink's state changed."""
    state = _observed_state(downlink)
    newer = is_newer(record, downlink)
    changed = newer and _differs(record, state)
    if newer:
        for name, value in state.items():
            setattr(record, name, value)
    record.last_seen_at = timezone.now()
    if not changed:
        return None
    return StatusEvent(
        downlink=record,
        status=downlink.status,
        last_failure_reason=downlink.last_failure_reason or "",
        retry_count=getattr(downlink, "retry_count", 0) or 0,
        remote_modified_at=downlink.modified_at,
        source=source,
    )


def new_submission_key() -> str:
    """A one-time key for one create: a rendered form carries one, a bulk row has its own."""
    return uuid4().hex


@dataclass(frozen=True)
class SendResult:
    """What became of a send. Exactly one of these holds:

    - `repeated`: the submission key was used before; nothing was sent, `record` is the
      first attempt's record (whatever its state);
    - `on_its_way` is not empty: the duplicate guard stopped it; nothing was sent or recorded;
    - otherwise the create was attempted: `record` is its record, `outcome` what came of it.
    """

    record: Downlink | None
    outcome: Outcome | None
    downlink: AnyDownlink | None = None
    error: ThingsError | None = None
    message: str = ""
    repeated: bool = False
    on_its_way: list[Downlink] = field(default_factory=list)


def _send_failure(error: Exception) -> tuple[Outcome, SendState, str]:
    """How a failed create is recorded, and what the person is told."""
    if isinstance(error, ThingsError) and error.outcome_unknown:
        return (
            Outcome.UNKNOWN,
            SendState.UNKNOWN,
            f"{error.describe()} The downlink may or may not have been created. It will not "
            "be sent again automatically; the portal looks for it on the platform and updates "
            "this record.",
        )
    if isinstance(error, ThingsRateLimited):
        # Not the input's fault: the API did not take the request in; nothing was created.
        return Outcome.FAILED, SendState.FAILED, f"{error.describe()} Nothing was sent."
    if isinstance(error, ThingsAPIError):
        return Outcome.REFUSED, SendState.REFUSED, error.describe()
    if isinstance(error, ThingsError):
        return Outcome.FAILED, SendState.FAILED, f"{error.describe()} Nothing was sent."
    return Outcome.FAILED, SendState.FAILED, f"{error} Nothing was sent."


def _normal_message(message: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: str(value).lower() if key == "payloadHex" else value
        for key, value in message.items()
        if value is not None
    }


def same_message(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Whether two create messages deliver the same thing (hex digits in either case)."""
    return _normal_message(one) == _normal_message(other)


def downlinks_on_their_way(
    *, team: Team, kind: str, device_id: str, message: Mapping[str, Any]
) -> list[Downlink]:
    """What a new send to `device_id` could repeat: the device's creates of unknown outcome
    (or still being sent), and its downlinks sent from the portal with the same message that
    are not DONE yet. Every spelling of the device id counts as the same device. A dry run
    reaches no device, so it neither counts nor is guarded."""
    key = same_device_key(device_id)
    candidates = (
        Downlink.objects.on_its_way()
        .filter(team=team, kind=kind, device_key=key)
        .order_by("created_at")
    )
    found = [
        record
        for record in candidates
        if not record.request_body.get("dryRun", False)
        and (
            record.send_state != SendState.SENT
            or same_message(record.request_body.get("message", {}), message)
        )
    ]
    _refresh(team, kind, [record for record in found if record.remote_id is not None])
    return [record for record in found if not record.is_done]


GUARD_REFRESH_MAX = 5


def _refresh(team: Team, kind: str, records: list[Downlink]) -> None:
    """Ask the API how the newest few of `records` are doing now (the portal's last sight of
    them may be old). What cannot be read stays as last seen: the guard errs on the safe side."""
    try:
        resource = resource_for(team_client(team), kind)
        for record in records[-GUARD_REFRESH_MAX:]:
            downlink: AnyDownlink = resource.get(record.remote_id)  # type: ignore[arg-type]
            with transaction.atomic():
                record_observation(record, downlink, source="send")
    except (ThingsError, NoCredential, DecryptionError):
        return


@dataclass(frozen=True)
class MadeWith:
    """What made a downlink's payload, when a template did."""

    version: TemplateVersion
    values: dict[str, Any]
    codec_version: CodecVersion | None = None

    def record_fields(self) -> dict[str, Any]:
        return {
            "template_version": self.version,
            "template_values": self.values,
            "codec_version": self.codec_version,
        }

    def audited(self) -> dict[str, Any]:
        return {
            "name": self.version.template.name,
            "version": self.version.number,
            "parameters": self.values,
            **({"codecVersion": self.codec_version.number} if self.codec_version else {}),
        }


def downlink_send(
    *,
    team: Team,
    kind: str,
    new: NewLoraDownlink | NewMqttDownlink,
    origin: Origin,
    user: AbstractBaseUser | AnonymousUser | None,
    submission_key: str,
    send_anyway: bool = False,
    made_with: MadeWith | None = None,
    part_of: Mapping[str, Any] | None = None,
    pace: Pace | None = None,
) -> SendResult:
    """Create one downlink, at most once per `submission_key`.

    `part_of`: what the send belongs to (a campaign's row), kept in its audit entry.
    `pace`: told right before the create goes on the wire (after the record and the audit
    attempt are written, and any token fetch) and as soon as a 429 comes back: a campaign
    keeps its rate there, as close to the request as it can be.

    The record is inserted under its key (unique per team) before the API is called, in the
    transaction of the audit attempt; a second call with the same key, in sequence or at the
    same moment, fails that insert and calls nothing. Unless `send_anyway`, a device that
    already has the same message on its way (or a create of unknown outcome) is not sent to.
    """
    wire = new.to_wire()
    summary = payload_summary(kind, wire)
    on_its_way = (
        []
        if new.dry_run
        else downlinks_on_their_way(
            team=team, kind=kind, device_id=new.device_id, message=wire.get("message", {})
        )
    )
    # After the guard (which may ask the API): a submission of the same form that arrived
    # meanwhile is found here, and shown as what it is, not as something else on its way.
    first = Downlink.objects.filter(team=team, submission_key=submission_key).first()
    if first is not None:
        return SendResult(first, None, repeated=True)
    if on_its_way and not send_anyway:
        return SendResult(None, None, on_its_way=on_its_way)
    asked = audit_asked(kind, wire)
    if made_with is not None:
        asked["template"] = made_with.audited()
    if part_of is not None:
        asked.update(part_of)
    if on_its_way:
        asked["sendAnyway"] = {
            "alreadyOnItsWay": [
                str(record.remote_id or f"record {record.pk}") for record in on_its_way
            ]
        }
    try:
        with transaction.atomic():
            # The attempt first, so the record is inserted once, with its sequence.
            attempt = record_attempt(
                Action.DOWNLINK_SEND,
                origin=origin,
                team=team_ref(team),
                target_kind=kind,
                device_id=new.device_id,
                asked=asked,
                summary=f"Send {Kind(kind).label} downlink"
                + (" anyway" if on_its_way else "")
                + f": {summary}",
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
                submission_key=submission_key,
                send_attempt_sequence=attempt.sequence,
                **(made_with.record_fields() if made_with is not None else {}),
            )
    except IntegrityError:
        # The same key at the same moment: the other insert won, and it alone calls the API.
        first = Downlink.objects.filter(team=team, submission_key=submission_key).first()
        if first is None:  # not the key after all: let the real problem show
            raise
        return SendResult(first, None, repeated=True)
    try:
        created: AnyDownlink = resource_for(team_client(team), kind).create(new, pace=pace)
    except (ThingsError, NoCredential, DecryptionError) as error:
        outcome, state, message = _send_failure(error)
        answered = answered_by(error) if isinstance(error, ThingsError) else {"detail": str(error)}
        with transaction.atomic():
            record_outcome(
                attempt, outcome=outcome, origin=origin, answered=answered, summary=message[:300]
            )
            record.send_state = state
            record.send_problem = answered
            # What happened; for an unknown outcome its page says what happens next.
            record.send_message = (str(error) if state == SendState.UNKNOWN else message)[:500]
            record.save(update_fields=["send_state", "send_problem", "send_message"])
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
        if downlink.last_failure_reason == CANCELLED:
            how = "it was cancelled already"
        elif downlink.last_failure_reason:
            how = f"it failed with {downlink.last_failure_reason}"
        else:
            how = "it was delivered successfully"
        return f"This downlink cannot be cancelled: it has already finished ({how}).{said}"
    if downlink is not None and not forced and downlink.status == EXECUTING:
        return (
            "This downlink is already being delivered, so a normal cancel is refused. A forced "
            f"cancel aborts it anyway (the device may have received it already).{said}"
        )
    return f"The Things API refused to cancel this downlink in its current state.{said}"


def _cancel_failure(
    error: ThingsError, before: AnyDownlink, *, forced: bool
) -> tuple[Outcome, str]:
    """How a failed cancellation is recorded, and what the person is told."""
    if isinstance(error, ThingsConflict):
        return Outcome.REFUSED, explain_conflict(error, before, forced=forced)
    if isinstance(error, ThingsNotFound):
        return (
            Outcome.REFUSED,
            "The Things API no longer knows this downlink, so it was not cancelled.",
        )
    if error.outcome_unknown:
        return (
            Outcome.UNKNOWN,
            f"{error.describe()} The cancellation may or may not have been accepted. The "
            "portal checks the downlink's status and offers Cancel again if it is still "
            "running.",
        )
    return Outcome.FAILED, f"{error.describe()} The cancellation was not sent."


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
    except ThingsError as error:
        outcome, message = _cancel_failure(error, before, forced=forced)
        with transaction.atomic():
            record_outcome(
                attempt,
                outcome=outcome,
                origin=origin,
                answered=answered_by(error),
                summary=message[:300],
            )
            if outcome == Outcome.UNKNOWN:
                _note_cancel(team, kind, before, forced, attempt, CancelState.UNKNOWN)
        return CancelResult(False, message, before, outcome=outcome, error=error)
    with transaction.atomic():
        record_outcome(
            attempt,
            outcome=Outcome.OK,
            origin=origin,
            answered={"status": 202},
            summary="Cancellation accepted",
        )
        _note_cancel(team, kind, before, forced, attempt, CancelState.ACCEPTED)
    return CancelResult(
        True,
        "Cancellation requested. The Things API accepted it and will process it shortly; the "
        "downlink then ends as DONE with reason CANCELLED.",
        before,
    )


def _note_cancel(
    team: Team,
    kind: str,
    before: AnyDownlink,
    forced: bool,
    attempt: AuditEntry,
    state: CancelState,
) -> None:
    """Keep the cancellation on the portal's record (made now if the portal did not send it),
    which the poller then follows to the end."""
    record, _ = Downlink.objects.get_or_create(
        team=team,
        kind=kind,
        remote_id=before.id,
        defaults={
            "origin": RecordOrigin.CANCELLED_HERE,
            "device_id": before.device_id,
            "send_state": SendState.SENT,
        },
    )
    record.cancel_requested_at = timezone.now()
    record.cancel_forced = forced
    record.cancel_state = state
    record.cancel_attempt_sequence = attempt.sequence
    record_observation(record, before, source="cancel")


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
    seen = [
        (record, downlink)
        for downlink in downlinks
        if (record := records.get(downlink.id)) is not None and is_newer(record, downlink)
    ]
    if not seen:
        return 0
    # One UPDATE for the records and one INSERT for their events, in one transaction, however
    # many changed (one save and one event each took 5 queries a row). An event someone else
    # stored meanwhile (the poller) is left as it is.
    events = [
        event for record, downlink in seen if (event := _observe(record, downlink, source=source))
    ]
    fields = [*_observed_state(seen[0][1]), "last_seen_at"]
    with transaction.atomic():
        Downlink.objects.bulk_update([record for record, _ in seen], fields)
        StatusEvent.objects.bulk_create(events, ignore_conflicts=True)
    return len(events)
