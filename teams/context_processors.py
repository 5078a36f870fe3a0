"""What every page needs to draw the navigation: the person's teams and the active one."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from teams.access import permissions, teams_of


def portal(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    # Team pages have read them already (teams.access.team_member_required); elsewhere they
    # are lazy, so pages that do not draw the team switcher do not pay for the query.
    memberships = getattr(request, "memberships", None)
    context: dict[str, Any] = {
        "active_team": getattr(request, "team", None),
        "active_membership": membership,
        "my_memberships": (
            memberships
            if memberships is not None
            else SimpleLazyObject(lambda: teams_of(request.user))
        ),
    }
    if membership is not None:
        context.update(permissions(membership))
    return context
