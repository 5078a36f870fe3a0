"""Who may do what, in one place.

Every team page has the team's slug in its URL. `team_member_required(role)` resolves it:
someone who is not a member gets 404 (another team's pages and objects do not exist for
them, not even as a 403), a member whose role is too low gets a refusal in words (403).
Templates never decide permissions; they read the `can_*` flags computed here.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from teams.models import Membership, Role, Team

LAST_TEAM_SESSION_KEY = "last_team"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class TeamRequest(HttpRequest):
    """A request to a team page, after `team_member_required` has let it through."""

    htmx: HtmxDetails
    team: Team
    membership: Membership
    memberships: list[Membership]  # all of the person's, for the team switcher


def membership_in(memberships: list[Membership], team_slug: str) -> Membership | None:
    for membership in memberships:
        if membership.team.slug == team_slug:
            return membership
    return None


def not_in_team(request: HttpRequest, memberships: list[Membership]) -> HttpResponse:
    """A link to a team the person is not in (or that does not exist: the page does not say
    which), rendered as a page in every mode, with what to do about it."""
    return render(request, "teams/not_in_team.html", {"my_teams": memberships}, status=404)


def permissions(membership: Membership) -> dict[str, bool]:
    return {
        "can_read": membership.allows(Role.VIEWER),
        "can_operate": membership.allows(Role.OPERATOR),
        "can_administer": membership.allows(Role.ADMIN),
    }


def refuse(request: HttpRequest, membership: Membership, needed: Role) -> HttpResponse:
    context = {
        "team": membership.team,
        "role": membership.get_role_display(),
        "needed": needed.label,
    }
    return render(request, "teams/refused.html", context, status=403)


type TeamView[**P2, R: HttpResponseBase] = Callable[Concatenate[TeamRequest, P2], R]
type PlainView[**P2, R: HttpResponseBase] = Callable[Concatenate[HttpRequest, P2], R | HttpResponse]


def team_member_required[**P2, R: HttpResponseBase](
    role: Role,
) -> Callable[[TeamView[P2, R]], PlainView[P2, R]]:
    def decorator(view: TeamView[P2, R]) -> PlainView[P2, R]:
        def wrapper(request: HttpRequest, *args: P2.args, **kwargs: P2.kwargs) -> R | HttpResponse:
            team_slug = str(kwargs.get("team_slug", ""))
            # All of the person's memberships in one query: the page's team switcher shows
            # them (teams.context_processors), so it need not ask again.
            memberships = teams_of(request.user)
            membership = membership_in(memberships, team_slug)
            team_request: Any = request
            team_request.memberships = memberships
            if membership is None:
                return not_in_team(request, memberships)
            if not membership.allows(role):
                return refuse(request, membership, role)
            team_request.team = membership.team
            team_request.membership = membership
            if request.session.get(LAST_TEAM_SESSION_KEY) != membership.team.slug:
                request.session[LAST_TEAM_SESSION_KEY] = membership.team.slug
            return view(team_request, *args, **kwargs)

        wrapped = cast(PlainView[P2, R], wraps(view)(wrapper))
        wrapped.required_role = role  # type: ignore[attr-defined]
        return wrapped

    return decorator


def teams_of(user: AbstractBaseUser | AnonymousUser) -> list[Membership]:
    if not user.is_authenticated:
        return []
    # With each team's credential: a team page's API client needs it (teams.connections.
    # team_client), so the page asks the database once for both.
    return list(
        Membership.objects.filter(user_id=user.pk)
        .select_related("team", "team__credential")
        .order_by("team__name")
    )
