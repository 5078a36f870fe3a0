"""Team pages: the team switcher, members and roles, the credential, and the audit trail."""

from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.export import csv_lines
from audit.selectors import AuditFilters, audit_action_page, audit_entries
from audit.trail import Origin
from core.filter_chips import filter_chips
from core.htmx import filtered_list
from teams import connections, services
from teams.access import (
    LAST_TEAM_SESSION_KEY,
    HtmxHttpRequest,
    TeamRequest,
    team_member_required,
    teams_of,
)
from teams.forms import (
    AuditFilterForm,
    CredentialForm,
    DeviceFinderForm,
    LoraPayloadLimitForm,
    MemberAddForm,
    MemberRoleForm,
)
from teams.models import AuthKind, Membership, Role

AUDIT_PAGE_SIZE = 50


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Straight to the last team used, or the first; a page in words when there is none."""
    memberships = teams_of(request.user)
    if not memberships:
        return render(request, "teams/no_team.html")
    last = request.session.get(LAST_TEAM_SESSION_KEY)
    chosen = next((m for m in memberships if m.team.slug == last), memberships[0])
    return redirect("teams:team_home", team_slug=chosen.team.slug)


@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    return render(request, "teams/team_list.html", {"memberships": teams_of(request.user)})


@require_GET
@team_member_required(Role.VIEWER)
def team_home(request: TeamRequest, team_slug: str) -> HttpResponse:
    finders = {
        "lora": DeviceFinderForm(kind_label="LoRa", example="deveui:ea8fa35e2cf3489f"),
        "mqtt": DeviceFinderForm(kind_label="MQTT", example="imei:350266800610993"),
    }
    return render(request, "teams/team_home.html", {"finders": finders})


# --- Members -------------------------------------------------------------------------------


def _members_page(request: TeamRequest, add_form: MemberAddForm, status: int = 200) -> HttpResponse:
    memberships = (
        Membership.objects.filter(team=request.team)
        .select_related("user")
        .order_by("user__username")
    )
    context = {
        "rows": [
            (membership, MemberRoleForm.for_membership(membership)) for membership in memberships
        ],
        "add_form": add_form,
    }
    return render(request, "teams/members.html", context, status=status)


@require_GET
@team_member_required(Role.ADMIN)
def members(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _members_page(request, MemberAddForm())


@require_POST
@team_member_required(Role.ADMIN)
def member_add(request: TeamRequest, team_slug: str) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            services.member_add(
                team=request.team,
                username=form.cleaned_data["username"],
                role=Role(form.cleaned_data["role"]),
                origin=Origin.from_request(request),
            )
        except services.TeamRuleError as error:
            form.add_error("username", str(error))
        else:
            messages.success(request, f"{form.cleaned_data['username']} was added.")
            return redirect("teams:members", team_slug=team_slug)
    return _members_page(request, form, status=400)


@require_POST
@team_member_required(Role.ADMIN)
def member_role(request: TeamRequest, team_slug: str, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=membership_id, team=request.team)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles: viewer, operator or admin.")
    else:
        try:
            services.member_change_role(
                membership=membership,
                role=Role(form.cleaned_data["role"]),
                origin=Origin.from_request(request),
            )
        except services.TeamRuleError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{membership.user.get_username()}'s role was changed.")
    return redirect("teams:members", team_slug=team_slug)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def member_remove(request: TeamRequest, team_slug: str, membership_id: int) -> HttpResponse:
    """GET asks first (removing acts at once: the person loses the team on their next
    request); POST removes."""
    membership = get_object_or_404(Membership, pk=membership_id, team=request.team)
    username = membership.user.get_username()
    if request.method == "GET":
        context = {"membership": membership, "is_self": membership.user_id == request.user.pk}
        return render(request, "teams/member_remove.html", context)
    try:
        services.member_remove(membership=membership, origin=Origin.from_request(request))
    except services.TeamRuleError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{username} was removed from the team.")
    return redirect("teams:members", team_slug=team_slug)


# --- Credential ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def credential(request: TeamRequest, team_slug: str) -> HttpResponse:
    """The credential, and the team's LoRa payload limit: two forms, each posted here."""
    stored = connections.team_credential(request.team)
    limit_form = LoraPayloadLimitForm(team=request.team)
    if request.method == "POST" and LoraPayloadLimitForm.is_posted(request.POST):
        limit_form = LoraPayloadLimitForm(request.POST, team=request.team)
        if limit_form.is_valid():
            try:
                team = services.lora_payload_limit_set(
                    team=request.team,
                    limit=limit_form.cleaned_data["lora_payload_limit"],
                    origin=Origin.from_request(request),
                )
            except services.TeamRuleError as error:
                limit_form.add_error("lora_payload_limit", str(error))
            else:
                messages.success(
                    request, f"The LoRa payload limit is {team.lora_payload_limit} bytes."
                )
                return redirect("teams:credential", team_slug=team_slug)
        form = CredentialForm(credential=stored)
        status = 400
    elif request.method == "POST":
        form = CredentialForm(request.POST, credential=stored)
        if form.is_valid():
            data = services.CredentialInput(
                api_url=form.cleaned_data["api_url"],
                auth_kind=AuthKind(form.cleaned_data["auth_kind"]),
                tenant_id=form.cleaned_data["tenant_id"],
                client_id=form.cleaned_data["client_id"],
                token_url=form.cleaned_data["token_url"],
                audience=form.cleaned_data["audience"],
                secret=form.secret(),
            )
            try:
                outcome = services.credential_save(
                    team=request.team,
                    data=data,
                    origin=Origin.from_request(request),
                    save_anyway=form.save_anyway,
                )
            except services.TeamRuleError as error:
                form.add_error(None, str(error))
            else:
                check = outcome.check
                if outcome.saved is not None and check.ok:
                    messages.success(request, f"The credential was saved. {check.message}")
                    return redirect("teams:credential", team_slug=team_slug)
                if outcome.saved is not None:
                    messages.warning(
                        request,
                        f"The credential was saved without a working connection. {check.message}",
                    )
                    return redirect("teams:credential", team_slug=team_slug)
                form = CredentialForm(request.POST, credential=stored, offer_save_anyway=True)
                form.is_valid()
                form.add_error(
                    None,
                    f"Not saved: the connection test with these values failed. "
                    f"{check.message} Check them, or tick “save anyway” below.",
                )
        status = 400
    else:
        form = CredentialForm(credential=stored)
        status = 200
    context = {
        "form": form,
        "limit_form": limit_form,
        "credential": stored,
        "token_expires_at": connections.token_expiry(stored) if stored else None,
    }
    return render(request, "teams/credential.html", context, status=status)


@require_POST
@team_member_required(Role.ADMIN)
def credential_test(request: TeamRequest, team_slug: str) -> HttpResponse:
    result = connections.connection_test(team=request.team, origin=Origin.from_request(request))
    context = {"result": result}
    if request.htmx:
        return render(request, "teams/credential.html#test_result", context)
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("teams:credential", team_slug=team_slug)


# --- Audit trail ---------------------------------------------------------------------------


def _audit_filters(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilters | None]:
    """The filter form and what it asks for; None when a filter is not valid, so that nothing
    is looked up (never everything, when the filters were meant to narrow it down)."""
    form = AuditFilterForm(request.GET or None)
    if not form.is_bound:
        return form, AuditFilters()
    # The range typed in is in the person's time zone, as the page's times are.
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, AuditFilters(
        person=data["person"],
        action=data["action"],
        device_id=data["device_id"],
        since=data["since"],
        before=data["before"],
    )


def _audit_page(
    request: HttpRequest,
    *,
    team_id: int | None,
    memberships: list[Membership],
    csv_url: str,
) -> HttpResponse:
    """One row per action (an attempt with its outcome), its targets linked for the teams in
    `memberships` (the person's: teams.templatetags.audit_links)."""
    form, filters = _audit_filters(request)
    actions = (
        None
        if filters is None
        else audit_action_page(
            team_id=team_id,
            filters=filters,
            number=request.GET.get("page"),
            per_page=AUDIT_PAGE_SIZE,
        )
    )
    query = form.query()
    context = {
        "form": form,
        "actions": actions,
        # The form's and the pager's address: the path alone, their own values make the
        # query (htmx appends a form's values to the address it is given, current query and all).
        "audit_path": request.path,
        "query": query,
        "csv_url": f"{csv_url}?{query}" if query else csv_url,
        "audit_teams": {membership.team_id: membership for membership in memberships},
        "chips": filter_chips(form),
    }
    return filtered_list(
        request, "teams/audit.html", context, status=200 if actions is not None else 400
    )


def _audit_csv(request: HttpRequest, *, team_id: int | None, filename: str) -> HttpResponseBase:
    form, filters = _audit_filters(request)
    if filters is None:
        # Never export everything when the filters were meant to narrow it down.
        problems = "; ".join(
            f"{name}: {' '.join(str(error) for error in errors)}"
            for name, errors in form.errors.items()
        )
        return HttpResponse(
            f"The filters are not valid, so nothing was exported. {problems}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    entries = audit_entries(team_id=team_id, filters=filters).iterator(chunk_size=2000)
    response = StreamingHttpResponse(csv_lines(entries), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


@require_GET
@team_member_required(Role.ADMIN)
def team_audit(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _audit_page(
        request,
        team_id=request.team.pk,
        memberships=request.memberships,
        csv_url=f"/t/{team_slug}/audit.csv",
    )


@require_GET
@team_member_required(Role.ADMIN)
def team_audit_csv(request: TeamRequest, team_slug: str) -> HttpResponseBase:
    return _audit_csv(request, team_id=request.team.pk, filename=f"audit-{team_slug}")


def superuser_required[R: HttpResponseBase](
    view: Callable[[HtmxHttpRequest], R],
) -> Callable[[HttpRequest], R]:
    @wraps(view)
    def wrapper(request: HttpRequest) -> R:
        if not getattr(request.user, "is_superuser", False):
            raise PermissionDenied("Only superusers see the audit trail of every team.")
        return view(cast(HtmxHttpRequest, request))

    return wrapper


@require_GET
@superuser_required
def all_audit(request: HtmxHttpRequest) -> HttpResponse:
    return _audit_page(
        request, team_id=None, memberships=teams_of(request.user), csv_url="/audit.csv"
    )


@require_GET
@superuser_required
def all_audit_csv(request: HtmxHttpRequest) -> HttpResponseBase:
    return _audit_csv(request, team_id=None, filename="audit-all")
