"""A campaign's rows made from its targets and message, as the preview shows them and as they
are then sent: each row's exact create body, or why it cannot be sent; and which devices
already have a downlink on its way (the single send's duplicate guard, asked for every row in
one query, without calling the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaigns.forms import row_form
from campaigns.models import CampaignRow, RowState
from campaigns.targets import Target, Targets
from command_templates.models import TemplateVersion
from devices.models import CodecVersion
from downlinks.forms import SendForm, TemplateSendForm
from downlinks.models import Downlink, SendState
from downlinks.services import new_submission_key, payload_summary, same_message
from teams.models import Team
from things_api import same_device_key


@dataclass(frozen=True)
class Message:
    """What the rows are made of: the valid message form, and for a template the data it was
    bound to (a row with its own values is the same data with those over it)."""

    team: Team
    kind: str
    form: SendForm[Any]
    data: Any = None
    version: TemplateVersion | None = None
    per_row: bool = False


def _errors_in_words(form: SendForm[Any]) -> str:
    said: list[str] = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        said.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return " ".join(said)


def make_row(message: Message, target: Target) -> CampaignRow:
    """One row, not saved: sendable with its create body, or INVALID with its problem."""
    row = CampaignRow(
        position=target.position,
        device_id=target.device_id,
        submission_key=new_submission_key(),
    )
    if target.problem:
        row.state, row.problem = RowState.INVALID, target.problem
        return row
    form: SendForm[Any] = message.form
    if message.per_row:
        assert message.version is not None
        form = row_form(message.data, target.values, team=message.team, version=message.version)
        if not form.is_valid():
            row.state, row.problem = RowState.INVALID, _errors_in_words(form)[:500]
            return row
    new = form.new_downlink_for(target.device_id)
    if new is None:  # the model refused what the form took: said on the form's fields
        row.state, row.problem = RowState.INVALID, _errors_in_words(form)[:500]
        return row
    row.request_body = new.to_wire()
    row.payload_summary = payload_summary(message.kind, row.request_body)[:200]
    if isinstance(form, TemplateSendForm):
        row.values = form.values()
        row.codec_version = _codec(form)
    return row


def _codec(form: TemplateSendForm) -> CodecVersion | None:
    return form.made.codec_version if form.made is not None else None


def make_rows(message: Message, targets: Targets) -> list[CampaignRow]:
    """Every target's row. Rows with the same values make the same message, so a template's
    form (and its codec) runs once per set of values, not once per row."""
    made: dict[tuple[tuple[str, str], ...], CampaignRow] = {}
    rows = []
    for target in targets.targets:
        key = tuple(sorted(target.values.items()))
        first = made.get(key)
        if target.problem or not message.per_row or first is None:
            row = make_row(message, target)
            if not target.problem and message.per_row:
                made.setdefault(key, row)
        else:
            row = _like(first, target)
        rows.append(row)
    flag_on_its_way(message.team, message.kind, rows)
    return rows


def _like(first: CampaignRow, target: Target) -> CampaignRow:
    """`target`'s row, made with the same values as `first`: its message, its device."""
    row = CampaignRow(
        position=target.position,
        device_id=target.device_id,
        submission_key=new_submission_key(),
        values=first.values,
        codec_version=first.codec_version,
        payload_summary=first.payload_summary,
        state=first.state,
        problem=first.problem,
    )
    if first.request_body:
        row.request_body = {**first.request_body, "deviceId": target.device_id}
    return row


def flag_on_its_way(team: Team, kind: str, rows: list[CampaignRow]) -> None:
    """Mark the sendable rows whose device has a downlink on its way that this one could
    repeat: a create of unknown outcome or still being sent, or the same message sent and not
    finished (what `downlinks.services.downlinks_on_their_way` finds for a single send). A
    dry run reaches no device: it is not guarded."""
    by_key = {
        same_device_key(row.device_id): row
        for row in rows
        if row.state == RowState.QUEUED and not row.request_body.get("dryRun", False)
    }
    if not by_key:
        return
    records = (
        Downlink.objects.on_its_way()
        .filter(team=team, kind=kind)
        .only("device_id", "send_state", "request_body")
        .iterator(chunk_size=2000)
    )
    for record in records:
        row = by_key.get(same_device_key(record.device_id))
        if row is None or row.on_its_way or record.request_body.get("dryRun", False):
            continue
        if record.send_state != SendState.SENT or same_message(
            record.request_body.get("message", {}), row.request_body.get("message", {})
        ):
            row.on_its_way = True
