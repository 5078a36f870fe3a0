"""/healthz: whether this web node can serve (its database and broker answer), and the checks
of the apps (how far behind the poller is: `downlinks.health`)."""

from collections.abc import Callable
from importlib import import_module

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare

from core.health import Check
from downlinks.health import check_sync
from things_portal.celery import app as celery_app


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return Check("database", False, type(error).__name__)
    return Check("database", True, connection.vendor)


def check_broker() -> Check:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
            transport = broker.transport_cls
    except Exception as error:
        return Check("broker", False, type(error).__name__)
    return Check("broker", True, str(transport))


def run_checks() -> list[Check]:
    return [check_database(), check_broker(), check_sync()]


class HealthCheckMiddleware:
    """Answers /healthz before anything else looks at the request: no host check and no
    redirect to HTTPS, so the container's own check (plain HTTP to 127.0.0.1) and a load
    balancer reach it whatever ALLOWED_HOSTS and SECURE_SSL_REDIRECT say.

    Anyone is told only whether this node can serve (the status code and a word). The details
    (the database vendor, the broker, how far the poller is behind) need `Authorization:
    Bearer <HEALTHZ_TOKEN>` or a staff member's session."""

    path = "/healthz"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != self.path:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        checks = run_checks()
        healthy = all(check.ok for check in checks)
        body: dict[str, object] = {"status": "ok" if healthy else "failing"}
        if may_see_details(request):
            body["checks"] = {
                check.name: {"ok": check.ok, "detail": check.detail} for check in checks
            }
        response = JsonResponse(body, status=200 if healthy else 503)
        add_never_cache_headers(response)
        return response


def may_see_details(request: HttpRequest) -> bool:
    """The operators' token, or a staff member signed in (read from the session cookie here:
    this runs before the session and authentication middleware)."""
    from django.conf import settings
    from django.contrib.auth import get_user

    token = settings.HEALTHZ_TOKEN
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if token and scheme == "Bearer" and constant_time_compare(offered.strip(), token):
        return True
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return False
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(session_key)
    return bool(getattr(get_user(request), "is_staff", False))
