"""Sign-ins, failed sign-ins, lockouts and sign-outs go to the audit trail; a lockout also
ends the locked person's sessions."""

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.lockout import locked_across_addresses, lockout_begins
from accounts.middleware import TIME_ZONE_SESSION_KEY
from accounts.services import time_zone_of, user_sessions_end
from audit.models import Action, Outcome
from audit.trail import Origin, record


@receiver(user_logged_in)
def audit_sign_in(sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record(Action.SIGN_IN, origin=Origin.from_request(request), outcome=Outcome.OK)


@receiver(user_logged_in)
def keep_time_zone(sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Read once here, so pages need not (accounts.middleware.person_time_zone)."""
    if hasattr(request, "session"):
        request.session[TIME_ZONE_SESSION_KEY] = time_zone_of(user)


@receiver(user_logged_out)
def audit_sign_out(sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    origin = Origin.from_request(request)
    origin = Origin(user.pk, user.get_username(), origin.ip_address, origin.user_agent)
    reason = getattr(request, "sign_out_reason", "")
    record(Action.SIGN_OUT, origin=origin, outcome=Outcome.OK, summary=reason)


@receiver(user_login_failed)
def audit_failed_sign_in(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # `credentials` is already cleansed by Django (no password), and we keep only the name.
    username = str(credentials.get("username", ""))[:150]
    origin = Origin.from_request(request) if request is not None else Origin.system()
    record(
        Action.SIGN_IN_FAILED,
        origin=Origin(None, username, origin.ip_address, origin.user_agent),
        outcome=Outcome.REFUSED,
    )


@receiver(user_locked_out)
def audit_lockout(
    sender: object, request: HttpRequest, username: str, ip_address: str, **kwargs: Any
) -> None:
    """When the lock begins, every session of that username ends too: whoever is guessing may
    have been right before. Later refused attempts end nothing, or anyone could keep the
    person signed out by guessing on (they can sign in again from an address not locked)."""
    username = (username or "")[:150]
    origin = Origin.from_request(request)
    with transaction.atomic():
        ended = (
            user_sessions_end(username=username)
            if username and lockout_begins(request, username)
            else None
        )
        record(
            Action.LOCKED_OUT,
            origin=Origin(None, username, ip_address or origin.ip_address, origin.user_agent),
            outcome=Outcome.REFUSED,
            summary=(
                "Too many failed sign-ins for this username, from several addresses"
                if locked_across_addresses(request)
                else "Too many failed sign-ins from this address"
            ),
            answered={"sessions_ended": ended} if ended is not None else None,
        )
