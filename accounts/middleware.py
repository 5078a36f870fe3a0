"""Sign a person out after SESSION_IDLE_MINUTES without a request of their own."""

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

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
        sign_in = f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = sign_in
            return response
        return HttpResponseRedirect(sign_in)
