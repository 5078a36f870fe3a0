"""`{% audit_target row %}`: an audit row's target, linked to what it names.

The trail keeps a team as an id and a label (audit knows nothing of teams), so the links are
made here, for the teams the person is in: `audit_teams` in the context maps a team id to the
person's membership of it. A downlink links to its detail page, a device to the list of its
downlinks, a member to the team's members page, each only for a role that may open it. An
entry whose team is gone, or one the person is not in (a superuser reading every team's
trail), shows its target as plain text.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode
from uuid import UUID

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.selectors import AuditAction
from core.templatetags.untrusted_text import untrusted
from teams.models import Membership, Role

register = template.Library()

# The target kind teams.services records for a change to someone's membership of the team.
MEMBER_TARGET = "user"
# The downlink list's filter for a device (downlinks.forms.filters.DownlinkFilterForm).
DEVICE_FILTER = "device"


@dataclass(frozen=True)
class TargetLinks:
    """Where an entry's target and device link to; "" for plain text."""

    target: str = ""
    device: str = ""


def target_links(row: AuditAction, teams: Mapping[int, Membership]) -> TargetLinks:
    """The links for `row`, for a person whose memberships are `teams` (by team id)."""
    entry = row.entry
    membership = teams.get(entry.team_id) if entry.team_id is not None else None
    if membership is None:
        return TargetLinks()
    slug = membership.team.slug
    if entry.target_kind == MEMBER_TARGET:
        if not membership.allows(Role.ADMIN):
            return TargetLinks()
        return TargetLinks(target=reverse("teams:members", kwargs={"team_slug": slug}))
    if not membership.allows(Role.VIEWER):
        return TargetLinks()
    # A downlink's target kind is its kind ("lora", "mqtt"): the URLs take no other.
    return TargetLinks(
        target=_downlink_url(slug, entry.target_kind, row.target_id),
        device=_device_url(slug, entry.target_kind, entry.device_id),
    )


def _downlink_url(slug: str, kind: str, target_id: str) -> str:
    try:
        downlink_id = UUID(target_id)
    except ValueError:
        return ""
    try:
        return reverse(
            "downlinks:detail",
            kwargs={"team_slug": slug, "kind": kind, "downlink_id": downlink_id},
        )
    except NoReverseMatch:  # not a downlink's kind
        return ""


def _device_url(slug: str, kind: str, device_id: str) -> str:
    if not device_id:
        return ""
    try:
        base = reverse("downlinks:list", kwargs={"team_slug": slug, "kind": kind})
    except NoReverseMatch:
        return ""
    return f"{base}?{urlencode({DEVICE_FILTER: device_id})}"


def _linked(text: SafeString, url: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', url, text) if url and text else text


@register.simple_tag(takes_context=True)
def audit_target(context: template.Context, row: AuditAction) -> SafeString:
    """The row's target (its kind and id) and device, as untrusted text, linked where the
    person may follow them."""
    teams: Mapping[int, Membership] = context.get("audit_teams") or {}
    links = target_links(row, teams)
    entry = row.entry
    parts: list[str] = []
    if entry.target_kind:
        target = _linked(untrusted(row.target_id), links.target)
        parts.append(format_html("{} {}", untrusted(entry.target_kind), target))
    if entry.device_id:
        device = _linked(untrusted(entry.device_id), links.device)
        parts.append(format_html("<small>device {}</small>", device))
    return SafeString("<br>".join(parts))
