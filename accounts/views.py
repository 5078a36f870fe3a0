"""Signing in and out, changing one's password, and the lockout page."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.lockout import locked_across_addresses
from audit.models import Action, Outcome
from audit.trail import Origin, record


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes calls this when a username is locked out, on this address or on all."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    across = locked_across_addresses(request)
    limit = settings.AXES_USERNAME_FAILURE_LIMIT if across else settings.AXES_FAILURE_LIMIT
    context = {"minutes": minutes, "failure_limit": limit, "across_addresses": across}
    response = render(request, "accounts/locked_out.html", context, status=429)
    if request.headers.get("HX-Request") == "true":
        # htmx swaps this page over whatever asked, so it is read instead of lost.
        response["HX-Retarget"] = "body"
        response["HX-Reswap"] = "innerHTML"
    return response


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # An absolute end, SESSION_COOKIE_AGE after signing in: without it every save of the
        # session (the activity time) would push the end further, and an active session
        # would never reach its maximum length.
        self.request.session.set_expiry(
            timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
        )
        return response


sign_in = login_not_required(SignInView.as_view())
sign_out = auth_views.LogoutView.as_view()


class AuditedPasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, with the change and its audit entry in one transaction."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_changed")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            record(
                Action.PASSWORD_CHANGED,
                origin=Origin.from_request(self.request),
                outcome=Outcome.OK,
            )
        return response


password_change = AuditedPasswordChangeView.as_view()


@require_GET
def password_changed(request: HttpRequest) -> HttpResponse:
    messages.success(request, "Your password has been changed.")
    return render(request, "accounts/password_changed.html")
