"""What every page needs to draw the navigation: the person's teams and the active one, and
where the team switcher takes them in each team."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, ResolverMatch, resolve, reverse
from django.utils.functional import SimpleLazyObject

from teams.access import permissions, teams_of
from teams.models import Membership, Role

# A page of one object (a downlink, a send attempt) has no URL in another team without its
# object, so the switcher falls back by itself (see `switch_pages`). These pages, the addresses
# of a form's POST and a member's pages, go to the page they belong to instead.
BELONGS_TO = {
    "downlinks:send_preview": "downlinks:send",
    "teams:member_add": "teams:members",
    "teams:member_role": "teams:members",
    "teams:member_remove": "teams:members",
    "teams:credential_test": "teams:credential",
    "teams:audit_csv": "teams:audit",
}
# Reversed in place of a team's slug, to split a page's URL around it (a valid slug, so the
# URL patterns take it; no other part of a team page's URL can contain it).
SLUG_PLACEHOLDER = "team-switch-slug"


@dataclass(frozen=True)
class TeamPage:
    """A team page, any team's: its URL before and after the slug, and the role it needs."""

    before: str
    after: str
    role: Role

    def url(self, team_slug: str) -> str:
        return f"{self.before}{team_slug}{self.after}"


@functools.cache  # the URLconf does not change while the process runs
def team_page(view_name: str, kind: str | None = None) -> TeamPage | None:
    """`view_name` (of the list of `kind`, if given) in any team; None if that is not a team
    page."""
    kwargs = {"kind": kind} if kind else {}
    try:
        url = reverse(view_name, kwargs={**kwargs, "team_slug": SLUG_PLACEHOLDER})
    except NoReverseMatch:  # a page of one object
        return None
    role = getattr(resolve(url).func, "required_role", None)  # set by team_member_required
    if role is None:
        return None
    before, _, after = url.partition(SLUG_PLACEHOLDER)
    return TeamPage(before, after, Role(role))


def switch_pages(match: ResolverMatch | None) -> list[TeamPage]:
    """The pages to try, in order, for the switcher: the page one is on (less its query string,
    whose filters may name this team's devices, and less its object), then the list of the same
    kind, then the team's home. No query; each page is worked out once per process."""
    kind = match.kwargs.get("kind") if match is not None else None
    names = []
    if match is not None and match.view_name:
        names.append(BELONGS_TO.get(match.view_name, match.view_name))
    if kind:
        names.append("downlinks:list")
    names.append("teams:team_home")
    pages = (team_page(name, kind if name != "teams:team_home" else None) for name in names)
    return [page for page in pages if page is not None]


def team_switch_links(
    request: HttpRequest, memberships: list[Membership]
) -> list[tuple[Membership, str]]:
    """(membership, URL) for each of the person's teams: the first of `switch_pages` that the
    person's role in that team allows."""
    pages = switch_pages(request.resolver_match)
    links = []
    for membership in memberships:
        page = next((page for page in pages if membership.allows(page.role)), None)
        slug = membership.team.slug
        url = page.url(slug) if page else reverse("teams:team_home", kwargs={"team_slug": slug})
        links.append((membership, url))
    return links


def portal(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    # Team pages have read them already (teams.access.team_member_required); elsewhere they
    # are lazy, so pages that do not draw the team switcher do not pay for the query.
    memberships = getattr(request, "memberships", None)
    my_memberships: Any = (
        memberships if memberships is not None else SimpleLazyObject(lambda: teams_of(request.user))
    )
    context: dict[str, Any] = {
        "active_team": getattr(request, "team", None),
        "active_membership": membership,
        # Lazy too: a fragment (no switcher) does not work it out.
        "team_switch": SimpleLazyObject(lambda: team_switch_links(request, list(my_memberships))),
    }
    if membership is not None:
        context.update(permissions(membership))
    return context
