"""Sending a person without a session to sign-in, and signing one out after
SESSION_IDLE_MINUTES without a request of their own.

An htmx request is answered with HX-Redirect, so the browser leaves for the sign-in page
instead of swapping it into the region that asked (a sign-in page nested in a list, under a
header that still names the person), and `next` is the page the person was on, not the
region's URL.
"""

import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    QueryDict,
)
from django.urls import reverse
from django.utils import timezone

from accounts.services import time_zone_of

LAST_ACTIVITY_KEY = "last_activity"
# Background refreshes (htmx polling) carry this header; they must not keep a session alive.
BACKGROUND_HEADER = "X-Portal-Background"
# Write the activity time at most this often, to spare the session store a write per request.
ACTIVITY_WRITE_INTERVAL = 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            idle_limit = settings.SESSION_IDLE_MINUTES * 60
            if isinstance(last, int | float) and now - last > idle_limit:
                return self.sign_out_idle(request)
            background = request.headers.get(BACKGROUND_HEADER) == "1"
            if not background and (
                not isinstance(last, int | float) or now - last > ACTIVITY_WRITE_INTERVAL
            ):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)

    def sign_out_idle(self, request: HttpRequest) -> HttpResponse:
        minutes = settings.SESSION_IDLE_MINUTES
        request.sign_out_reason = f"After {minutes} minutes without activity"  # type: ignore[attr-defined]
        logout(request)
        messages.info(request, f"You were signed out after {minutes} minutes without activity.")
        return to_sign_in(request)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def page_to_return_to(request: HttpRequest) -> str:
    """The path and query the person should come back to: for htmx, the page in the browser
    (HX-Current-URL, on this site only), not the region that asked."""
    if _is_htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.netloc == request.get_host() and current.path.startswith("/"):
            return urlunsplit(("", "", current.path, current.query, ""))
    return request.get_full_path()


def to_sign_in(request: HttpRequest) -> HttpResponse:
    """To the sign-in page, with `next` the page the person was on (the sign-in view accepts
    only a `next` on this site)."""
    query = QueryDict(mutable=True)
    query[REDIRECT_FIELD_NAME] = page_to_return_to(request)
    # "/" left readable, as Django's own redirect_to_login writes it.
    sign_in = f"{reverse(settings.LOGIN_URL)}?{query.urlencode(safe='/')}"
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = sign_in
        return response
    return HttpResponseRedirect(sign_in)


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware (every view needs a session unless it is marked
    login_not_required), with the answer htmx needs."""

    # The stubs want a redirect; htmx gets a 204 with HX-Redirect instead.
    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Callable[..., HttpResponseBase]
    ) -> HttpResponse:
        if getattr(view_func, "login_url", None):  # a view with a sign-in of its own (admin)
            return super().handle_no_permission(request, view_func)
        return to_sign_in(request)


# The person's time zone name, kept in the session so a request need not read it again.
TIME_ZONE_SESSION_KEY = "time_zone"


def person_time_zone(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Times on the page and dates typed into forms are in the person's time zone (their
    settings), or the portal's (TIME_ZONE) for anyone without one."""

    def middleware(request: HttpRequest) -> HttpResponse:
        zone = ""
        if request.user.is_authenticated:
            kept = request.session.get(TIME_ZONE_SESSION_KEY)
            if not isinstance(kept, str):
                kept = request.session[TIME_ZONE_SESSION_KEY] = time_zone_of(request.user)
            zone = kept
        try:
            if zone:
                timezone.activate(ZoneInfo(zone))
            else:
                timezone.deactivate()
        except (ZoneInfoNotFoundError, ValueError):  # a zone the system no longer knows
            timezone.deactivate()
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware
