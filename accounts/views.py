"""Signing in and out, changing one's password, resetting it by email, and the lockout page."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import TimeZoneForm
from accounts.lockout import locked_across_addresses
from accounts.middleware import TIME_ZONE_SESSION_KEY
from accounts.services import (
    password_reset_request,
    reset_link_lifetime,
    time_zone_of,
    time_zone_set,
)
from audit.models import Action, Outcome
from audit.trail import Origin, record
from core.htmx import swap_whole_page


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes calls this when a username is locked out, on this address or on all."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    across = locked_across_addresses(request)
    limit = settings.AXES_USERNAME_FAILURE_LIMIT if across else settings.AXES_FAILURE_LIMIT
    context = {"minutes": minutes, "failure_limit": limit, "across_addresses": across}
    # htmx gets it swapped over whatever asked, so it is read instead of lost.
    return swap_whole_page(render(request, "accounts/locked_out.html", context, status=429))


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


class SignOutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:  # said on the sign-in page it leads to
            messages.info(request, "You are signed out.")
        return response


sign_out = SignOutView.as_view()


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


class PortalPasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, with our limits and audit entry; every outcome is answered
    with the same redirect to the same page, so nobody learns whether an address has an
    account or was refused."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if not password_reset_request(form=form, origin=Origin.from_request(self.request)):
            return HttpResponseRedirect(self.get_success_url())
        self.extra_email_context = {"valid_for": reset_link_lifetime()}
        return super().form_valid(form)  # Django emails the link to each account


class PortalPasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "valid_for": reset_link_lifetime()}


class AuditedPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's check of the link and the new password, audited in the same transaction.

    The new password changes the hash every session keeps a digest of, so each session of
    the person, wherever, is signed out on its next request."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: SetPasswordForm[Any]) -> HttpResponse:
        user = self.user
        assert user is not None  # the form is shown, and taken, for a valid link only
        with transaction.atomic():
            response = super().form_valid(form)
            origin = Origin.from_request(self.request)
            email = getattr(user, user.get_email_field_name(), "")
            record(
                Action.PASSWORD_RESET_DONE,
                origin=Origin(user.pk, user.get_username(), origin.ip_address, origin.user_agent),
                outcome=Outcome.OK,
                target_kind="user",
                target_id=user.get_username(),
                summary=f"With the link emailed to {email}",
            )
        return response


# Django marks these views as open to people not signed in; said again here, as for sign_in.
password_reset = login_not_required(PortalPasswordResetView.as_view())
password_reset_done = login_not_required(PortalPasswordResetDoneView.as_view())
password_reset_confirm = login_not_required(AuditedPasswordResetConfirmView.as_view())
password_reset_complete = login_not_required(
    auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"
    )
)


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The person's own settings: for now, their time zone."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)  # signed in (SignInRequiredMiddleware)
    if request.method == "POST":
        form = TimeZoneForm(request.POST)
        if form.is_valid():
            zone = form.cleaned_data["time_zone"]
            time_zone_set(user=user, time_zone=zone, origin=Origin.from_request(request))
            request.session[TIME_ZONE_SESSION_KEY] = zone
            messages.success(request, f"Times are now shown in {zone or settings.TIME_ZONE}.")
            return HttpResponseRedirect(reverse("accounts:settings"))
        return render(request, "accounts/settings.html", {"form": form}, status=400)
    form = TimeZoneForm(initial={"time_zone": time_zone_of(user)})
    return render(request, "accounts/settings.html", {"form": form})
