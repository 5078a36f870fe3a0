"""Every time the portal shows, one way: in the person's time zone (the one activated for the
request, accounts.middleware) with the zone written next to it, and UTC on hover.

    {{ downlink.created_at|when }}          2 Dec 2026 06:00:00 CET
    {{ event.observed_at|when:"short" }}    2 Dec 06:00:00 CET
    {{ record.cancel_requested_at|when:"time" }}   06:00:00 CET
    {{ membership.created_at|when:"date" }} 2 Dec 2026
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

STYLES = {
    "long": "j M Y H:i:s T",
    "short": "j M H:i:s T",
    "time": "H:i:s T",
    "date": "j M Y",
}


def in_words(moment: datetime, style: str = "long") -> tuple[str, str, str]:
    """The moment as `<time>` needs it: its UTC ISO form, UTC in words (the hover), and the
    words shown, in the current time zone."""
    utc = moment.astimezone(UTC)
    shown = dateformat.format(timezone.localtime(moment), STYLES[style])
    return utc.isoformat(), utc.strftime("%Y-%m-%d %H:%M:%S UTC"), shown


@register.filter
def when(moment: datetime | None, style: str = "long") -> SafeString | str:
    if moment is None:
        return ""
    iso, hover, shown = in_words(moment, style)
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, hover, shown)


@register.simple_tag
def now_in_zone() -> SafeString | str:
    """The time now, as every time is shown, with the zone's name."""
    return format_html("{} ({})", when(timezone.now()), timezone.get_current_timezone_name())
