"""Two lockout limits where django-axes has one: AXES_FAILURE_LIMIT for a username on one
address (axes' own count, AXES_LOCKOUT_PARAMETERS), and the higher
AXES_USERNAME_FAILURE_LIMIT for a username summed over every address, so that guessing from
ever new addresses still ends in a lockout.

axes decides "locked" in one place, `get_failures(...) >= AXES_FAILURE_LIMIT`, both before the
password is checked and after a failure; a username over its own limit is reported there as
at the address limit. The per-address rows stay as they are: a successful sign-in resets only
its own address's count, never what was guessed from elsewhere.
"""

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest

# Set on the request when the lockout is the username's, across addresses (for the page and
# the audit entry, which otherwise speak of "this address").
LOCKED_ACROSS_ADDRESSES = "portal_locked_across_addresses"


def locked_across_addresses(request: HttpRequest) -> bool:
    return bool(getattr(request, LOCKED_ACROSS_ADDRESSES, False))


def username_failures(request: HttpRequest, username: str) -> int:
    """Failures for this username from any address within the cool-off time."""
    attempts = AccessAttempt.objects.filter(username=username)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return int(attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0)


class PortalAxesHandler(AxesDatabaseHandler):  # type: ignore[misc]
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        failures = int(super().get_failures(request, credentials))
        limit = int(get_failure_limit(request, credentials))
        across = False
        if failures < limit:
            username = get_client_username(request, credentials)
            across = bool(username) and (
                username_failures(request, username) >= settings.AXES_USERNAME_FAILURE_LIMIT
            )
        setattr(request, LOCKED_ACROSS_ADDRESSES, across)
        return limit if across else failures


def lockout_begins(request: HttpRequest, username: str) -> bool:
    """Whether the failure just recorded is the one that locked `username` (axes signals a
    lockout again for every refused attempt while the lock lasts).

    Each refused attempt is counted too (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so
    the count equals the limit only once per lock: on this address, axes' own count; across
    addresses (for which `get_failures` reports the limit itself), the username's total.
    """
    if locked_across_addresses(request):
        return username_failures(request, username) == settings.AXES_USERNAME_FAILURE_LIMIT
    failures = getattr(request, "axes_failures_since_start", None)
    return failures == settings.AXES_FAILURE_LIMIT
