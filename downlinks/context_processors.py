"""Tells a team's admins, on every page, when the poller cannot use the team's credential."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from downlinks.selectors import credential_problem
from teams.models import Role


def sync_problems(request: HttpRequest) -> dict[str, Any]:
    team = getattr(request, "team", None)
    membership = getattr(request, "membership", None)
    if team is None or membership is None or not membership.allows(Role.ADMIN):
        return {}
    return {"credential_problem": SimpleLazyObject(lambda: credential_problem(team=team))}
