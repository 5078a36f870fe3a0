"""How a downlink's state is shown: a badge class and the failure reasons in words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape  # django.utils.html.escape without its lazy-string wrapper
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from core.visible_text import isolated_html
from things_api import (
    CANCELLED,
    DONE,
    EXECUTING,
    KNOWN_STATUSES,
    LoraDownlink,
    parse_simple_duration,
)

if TYPE_CHECKING:
    from downlinks.forms.filters import ListColumn
    from downlinks.selectors import DownlinkRow

register = template.Library()

FAILURE_REASONS_IN_WORDS = {
    CANCELLED: "Cancelled before it was delivered.",
    "FEEDBACK_TIMEOUT": "No feedback came from the device within the feedback timeout.",
    "FAILED_TO_TRANSMIT_TO_DEVICE": "The platform could not transmit it to the device.",
    "NOT_ACKNOWLEDGED_BY_DEVICE": "The device did not acknowledge it, also after the retries.",
    "FAILED_TO_ENQUEUE_FOR_TRANSMISSION": "The network could not queue it for transmission.",
    "EVICTED": "It was dropped from the device's queue before it could be sent.",
}


@register.filter
def status_class(downlink: Any) -> str:
    status = getattr(downlink, "status", "")
    if status == DONE:
        return "failed" if getattr(downlink, "last_failure_reason", None) else "succeeded"
    if status in KNOWN_STATUSES:
        return status.lower()
    return "unknown"


@register.filter
def status_label(downlink: Any) -> str:
    status = getattr(downlink, "status", "") or "unknown"
    reason = getattr(downlink, "last_failure_reason", None)
    if status == DONE:
        if reason == CANCELLED:
            return "Cancelled"
        return f"Failed: {reason}" if reason else "Succeeded"
    return status.capitalize() if status in KNOWN_STATUSES else status


@register.filter
def reason_in_words(reason: str | None) -> str:
    if not reason:
        return ""
    return FAILURE_REASONS_IN_WORDS.get(reason, f"The platform reported {reason}.")


@register.simple_tag
def outcome_in_words(downlink: Any, record: Any, events: list[Any]) -> str:
    """The failure reason in words; for a cancellation, what it means for the device.

    Only a forced cancel is accepted once delivery has started (EXECUTING), so an unforced one
    from the portal ended it before anything was sent; a forced one, or one that the portal saw
    EXECUTING first, may have reached the device. A cancellation by another tool is told as
    what the portal cannot know."""
    reason = getattr(downlink, "last_failure_reason", None)
    if reason != CANCELLED:
        return reason_in_words(reason)
    seen_executing = any(event.status == EXECUTING for event in events)
    if record is None or record.cancel_requested_at is None:
        if seen_executing:
            return (
                "Cancelled (not from the portal) while it was being delivered: "
                "the device may have received it."
            )
        return (
            "Cancelled, not from the portal: if it was already being delivered, "
            "the device may have received it."
        )
    if record.cancel_forced or seen_executing:
        return (
            "Cancelled by a forced cancel, possibly while it was being delivered: "
            "the device may already have received it."
        )
    return "Cancelled before delivery started: nothing was sent to the device."


# Who saw a status change (StatusEvent.source), in words.
SOURCES_IN_WORDS = {
    "send": "the send (the API's answer)",
    "cancel": "the cancel",
    "detail": "this page",
    "list": "a list page",
    "poller": "status updates",
    "reconciled": "status updates (finding a create of unknown outcome)",
}


@register.filter
def source_in_words(source: str) -> str:
    return SOURCES_IN_WORDS.get(source, source)


def _amount(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


@register.filter
def duration_in_words(value: str) -> str:
    """ "PT1H30M" as "1 hour 30 minutes"; anything else as it is."""
    try:
        duration = parse_simple_duration(str(value))
    except ValueError:
        return str(value)
    hours, rest = divmod(int(duration.total_seconds()) - duration.days * 86_400, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        _amount(number, unit)
        for number, unit in (
            (duration.days, "day"),
            (hours, "hour"),
            (minutes, "minute"),
            (seconds, "second"),
        )
        if number
    ]
    return " ".join(parts) or "0 seconds"


@dataclass(frozen=True)
class ColumnHeader:
    """A list column's header: a sortable one links to the list sorted by it."""

    label: str
    query: str = ""  # the link's query string; empty: not sortable
    aria_sort: str = ""  # "ascending" or "descending" on the column the list is sorted by
    arrow: str = ""


@register.simple_tag
def column_headers(columns: list[ListColumn], sort: str, base_query: str) -> list[ColumnHeader]:
    """The headers of the list's table, worked out once per page rather than per template
    node."""
    headers = []
    for column, label, sortable in columns:
        if not sortable:
            headers.append(ColumnHeader(label))
            continue
        direction = "ascending" if sort == column else "descending" if sort == f"-{column}" else ""
        arrow = {"ascending": " ▲", "descending": " ▼"}.get(direction, "")
        headers.append(ColumnHeader(label, sort_query(base_query, column, sort), direction, arrow))
    return headers


def sort_query(base_query: str, column: str, current: str) -> str:
    """The query string that sorts by `column`, flipping the direction if it is current."""
    if current == column:
        value = f"-{column}"
    elif current == f"-{column}":
        value = column
    else:
        value = f"-{column}" if column in {"created", "modified"} else column
    pairs = f"{base_query}&" if base_query else ""
    return f"?{pairs}{urlencode({'sort': value})}"


@register.simple_tag
def page_query(base_query: str, sort: str, cursor: str) -> str:
    pairs = f"{base_query}&" if base_query else ""
    return f"?{pairs}{urlencode({'sort': sort, 'cursor': cursor})}"


@register.filter
def payload_summary(downlink: Any) -> str:
    message = getattr(downlink, "message", None)
    if message is None:
        return ""
    payload_hex = getattr(message, "payload_hex", None)
    if payload_hex is not None:
        size = len(payload_hex) // 2
        shown = payload_hex[:24].upper() + ("…" if len(payload_hex) > 24 else "")
        return f"{shown} ({size} byte{'s' if size != 1 else ''})"
    kind = getattr(message, "type", "")
    payload = getattr(message, "payload", "")
    if kind == "binary":
        data = message.payload_bytes
        size = len(data) if data is not None else 0
        return f"binary, {size} byte{'s' if size != 1 else ''}"
    text = str(payload)
    return f"“{text[:30]}{'…' if len(text) > 30 else ''}”"


@register.filter
def get_label(form: Any, name: str) -> str:
    field = form.fields.get(name)
    return str(field.label) if field is not None and field.label else name


# --- The list's rows ----------------------------------------------------------------------------
# Written here, not in the template, for speed: 50 rows of some 30 template nodes each took
# ~9 ms, a third of the list page's own time; this writes the same markup in ~1.5 ms
# (benchmarks/list_page.py measures the page). Every value is escaped as `{{ }}` would, and
# text from people or the API (ids, labels, topics, payloads) as `{{ |untrusted }}` would.

_ANY_ID = UUID(int=0)
_DRY_RUN = ' <small class="tag">dry run</small>'
_CANCEL_PENDING = '<br><small class="cancel-pending">Cancellation pending</small>'


def _url_for_id(name: str, team_slug: str, kind: str) -> tuple[str, str]:
    """A downlink URL as the text before and after the id: reversed once, not once per row."""
    before, _, after = reverse(name, args=[team_slug, kind, _ANY_ID]).rpartition(str(_ANY_ID))
    return escape(before), escape(after)


def _moment_formatter() -> Callable[[datetime], str]:
    """The `<time>` that `|when:"short"` (core.templatetags.moments) writes, in the current
    time zone; the zone and the month names are looked up once per table, not once per cell."""
    zone = timezone.get_current_timezone()
    months = {number: str(name).title() for number, name in MONTHS_3.items()}

    def moment(value: datetime) -> str:
        # Fields and slices rather than strftime: this runs twice per row.
        utc = value.astimezone(UTC)
        local, iso = utc.astimezone(zone), utc.isoformat()
        shown = (
            f"{local.day} {months[local.month]} "
            f"{local.hour:02d}:{local.minute:02d}:{local.second:02d} {local.tzname()}"
        )
        return f'<time datetime="{iso}" title="{iso[:10]} {iso[11:19]} UTC">{escape(shown)}</time>'

    return moment


def _number(value: int) -> str:
    """A port or a retry count: a small whole number, the same in every locale (formatting
    150 of them per page through `formats.localize` was 40 % of the rows' time)."""
    return str(int(value))


@register.simple_tag(takes_context=True)
def downlink_rows(context: template.Context, rows: list[DownlinkRow]) -> SafeString:
    """The `<tr>` of each row of the list table (the `#results` partial of list.html)."""
    team_slug, kind = context["active_team"].slug, context["kind"]
    can_operate = bool(context.get("can_operate"))
    detail_before, detail_after = _url_for_id("downlinks:detail", team_slug, kind)
    cancel_before, cancel_after = _url_for_id("downlinks:cancel", team_slug, kind)
    send = escape(reverse("downlinks:send", args=[team_slug, kind]))
    moment = _moment_formatter()
    html = []
    for row in rows:
        d = row.downlink
        downlink_id = escape(str(d.id))
        if isinstance(d, LoraDownlink):
            kind_cells = (
                f"<td>{_number(d.message.f_port)}</td>"
                f"<td>{_number(d.retry_count)} of {_number(d.retry_limit)}</td>"
            )
        else:
            kind_cells = f"<td>{isolated_html(str(d.message.topic or ''))}</td>"
        actions = ""
        if can_operate:
            actions = f'<a href="{send}?clone={downlink_id}">Clone</a>'
            if d.is_running and not row.cancel_pending:
                actions += (
                    f'\n<a href="{cancel_before}{downlink_id}{cancel_after}" '
                    'class="cancel-link">Cancel</a>'
                )
        sent_by = row.record.sent_by_label if row.record is not None else ""
        html.append(
            f'<tr id="row-{downlink_id}" data-status="{escape(d.status)}">\n'
            f'  <td><a href="{detail_before}{downlink_id}{detail_after}">'
            f"{isolated_html(d.device_id)}</a>{_DRY_RUN if d.dry_run else ''}</td>\n"
            f'  <td><span class="status status-{escape(status_class(d))}">'
            f"{isolated_html(status_label(d))}</span>"
            f"{_CANCEL_PENDING if row.cancel_pending else ''}</td>\n"
            f'  <td class="payload">{isolated_html(payload_summary(d))}</td>\n'
            f"  {kind_cells}\n"
            f"  <td>{moment(d.created_at)}</td>\n"
            f"  <td>{moment(d.modified_at)}</td>\n"
            f"  <td>{isolated_html(sent_by)}</td>\n"
            f'  <td class="actions">{actions}</td>\n'
            "</tr>\n"
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


@register.filter
def hex_byte_count(payload_hex: str) -> str:
    """ "0102" → "2 bytes"; hex the API sent with an odd number of digits says so."""
    digits = len(payload_hex or "")
    if digits % 2:
        return f"{digits} hex digits, not whole bytes"
    size = digits // 2
    return f"{size} byte{'' if size == 1 else 's'}"
