"""Campaign pages: the team's campaigns; a new one (devices and message, raw or from a
template); its page, which is the preview with the confirmation while it is a draft and the
live progress after; pause, resume, cancel, re-run and the CSV of its rows."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.trail import Origin
from campaigns import selectors, services
from campaigns.forms import (
    CampaignSettingsForm,
    ConfirmForm,
    RerunForm,
    RowFilterForm,
    TargetsForm,
    message_form,
)
from campaigns.models import ACTIVE_STATES, Campaign, CampaignState, RowState
from campaigns.rows import Message
from campaigns.selectors import OUTCOME_LABELS, Outcome
from command_templates.models import CommandTemplate
from core.csv_cells import Line, safe_cell
from core.htmx import page_or_fragment, wants_fragment
from devices.models import Kind
from downlinks.views import raw_send_allowed
from teams.access import TeamRequest, permissions, team_member_required
from teams.models import Role

# The outcomes a re-run offers: what did not reach the device.
RERUN_OUTCOMES = (
    Outcome.FAILED,
    Outcome.REFUSED,
    Outcome.NOT_SENT,
    Outcome.UNKNOWN,
    Outcome.SKIPPED,
    Outcome.STOPPED,
    Outcome.CANCELLED,
)


@require_GET
@team_member_required(Role.VIEWER)
def campaign_list(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _list_page(request, CampaignSettingsForm(team=request.team))


def _list_page(
    request: TeamRequest, settings_form: CampaignSettingsForm, status: int = 200
) -> HttpResponse:
    templates = CommandTemplate.objects.filter(team=request.team).order_by("name")
    context = {
        "campaigns": selectors.campaigns_of(request.team)[:200],
        "templates": templates,
        "kinds": Kind.choices,
        "settings_form": settings_form,
        **permissions(request.membership),
    }
    return render(request, "campaigns/list.html", context, status=status)


def _new_page(
    request: TeamRequest,
    kind: str,
    template: CommandTemplate | None,
) -> HttpResponse:
    version = template.current() if template is not None else None
    status = 200
    if request.method == "POST":
        targets_form = TargetsForm(
            request.POST,
            request.FILES,
            team=request.team,
            kind=kind,
            version=version,
            prefix="targets",
        )
        targets_ok = targets_form.is_valid()
        per_row = targets_form.per_row
        form = message_form(
            request.POST, team=request.team, kind=kind, version=version, per_row=per_row
        )
        if targets_ok and form.is_valid() and targets_form.targets is not None:
            campaign = services.campaign_draft(
                message=Message(
                    team=request.team,
                    kind=kind,
                    form=form,
                    data=request.POST,
                    version=version,
                    per_row=bool(per_row),
                ),
                targets=targets_form.targets,
                name=targets_form.cleaned_data["name"],
                origin=Origin.from_request(request),
                user=request.user,
            )
            return redirect("campaigns:detail", team_slug=request.team.slug, pk=campaign.pk)
        status = 400
    else:
        initial = {
            "device_ids": "\n".join(request.GET.getlist("device")),
            "tag": request.GET.get("tag", ""),
        }
        targets_form = TargetsForm(
            initial=initial, team=request.team, kind=kind, version=version, prefix="targets"
        )
        form = message_form(None, team=request.team, kind=kind, version=version)
    context = {
        "kind": kind,
        "kind_label": Kind(kind).label,
        "template": template,
        "targets_form": targets_form,
        "form": form,
    }
    return render(request, "campaigns/new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.OPERATOR)
@raw_send_allowed
def campaign_new(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    return _new_page(request, kind, None)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.OPERATOR)
def campaign_new_from_template(
    request: TeamRequest, team_slug: str, template_pk: int
) -> HttpResponse:
    template = get_object_or_404(
        CommandTemplate.objects.select_related("device_type").prefetch_related("versions"),
        pk=template_pk,
        team=request.team,
    )
    return _new_page(request, template.kind, template)


def _campaign(request: TeamRequest, pk: int) -> Campaign:
    campaign = selectors.campaign_of(request.team, pk)
    if campaign is None:
        raise Http404("No such campaign in this team.")
    return campaign


def _rerun_choices(counts: selectors.Counts) -> list[tuple[str, str]]:
    return [(value, label) for value, label, _ in counts.listed() if value in RERUN_OUTCOMES]


def _detail_context(request: TeamRequest, campaign: Campaign) -> dict[str, Any]:
    counts = selectors.campaign_counts(campaign)
    outcomes = [(value, label) for value, label, _ in counts.listed()]
    filters = RowFilterForm(request.GET or None, outcomes=outcomes)
    data = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    page = selectors.row_page(
        campaign,
        outcome=data.get("outcome", ""),
        q=data.get("q", ""),
        number=request.GET.get("page"),
    )
    rerun_choices = _rerun_choices(counts)
    # Rows whose outcome may still change: sent and not finished, or not known yet.
    outcomes_pending = counts.of(Outcome.SENT) + counts.of(Outcome.UNKNOWN)
    return {
        "campaign": campaign,
        "counts": counts,
        "eta": selectors.eta(campaign, counts),
        "page": page,
        "filters": filters,
        "query": filters.query(),
        "list_path": request.path,
        "on_its_way": campaign.rows.filter(state=RowState.QUEUED, on_its_way=True).count()
        if campaign.state in (CampaignState.DRAFT, CampaignState.AWAITING_APPROVAL)
        else 0,
        "needs_approval": campaign.needs_approval(counts.of(Outcome.QUEUED)),
        "is_creator": campaign.created_by_id == request.user.pk,
        "confirm_form": ConfirmForm(sendable=counts.of(Outcome.QUEUED)),
        "rerun_form": RerunForm(outcomes=rerun_choices) if rerun_choices else None,
        "outcome_labels": OUTCOME_LABELS,
        "refresh_seconds": 2,
        "outcomes_pending": outcomes_pending,
        "refreshing": campaign.is_active or bool(outcomes_pending),
        **permissions(request.membership),
    }


@require_GET
@team_member_required(Role.VIEWER)
def campaign_detail(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    context = _detail_context(request, campaign)
    response = page_or_fragment(
        request,
        "campaigns/detail.html",
        context,
        fragment="live",
        regions={"results": "results"},
    )
    watching = wants_fragment(request) and request.headers.get("HX-Target") == "live"
    if watching and request.GET.get("seen") in ACTIVE_STATES and not campaign.is_active:
        # It ended while the page watched: the whole page now (export, re-run).
        response["HX-Refresh"] = "true"
    return response


@require_POST
@team_member_required(Role.OPERATOR)
def campaign_start(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    sendable = selectors.campaign_counts(campaign).of(Outcome.QUEUED)
    form = ConfirmForm(request.POST, sendable=sendable)
    if not form.is_valid():
        context = {**_detail_context(request, campaign), "confirm_form": form}
        return render(request, "campaigns/detail.html", context, status=400)
    try:
        services.campaign_start(
            campaign=campaign,
            origin=Origin.from_request(request),
            send_anyway=form.cleaned_data["send_anyway"],
            start_at=form.cleaned_data["start_at"],
        )
    except services.CampaignStateError as error:
        messages.error(request, str(error))
    else:
        if campaign.state == CampaignState.AWAITING_APPROVAL:
            messages.success(
                request, "Confirmed: another operator or admin approves it, then it starts."
            )
        elif campaign.state == CampaignState.SCHEDULED and campaign.start_at:
            when = timezone.localtime(campaign.start_at)
            messages.success(request, f"The campaign starts at {when:%Y-%m-%d %H:%M}.")
        else:
            messages.success(request, "The campaign is running.")
    return redirect("campaigns:detail", team_slug=team_slug, pk=pk)


@require_POST
@team_member_required(Role.OPERATOR)
def campaign_approve(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        services.campaign_approve(campaign=campaign, origin=Origin.from_request(request))
    except services.CampaignStateError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Approved: the campaign is running.")
    return redirect("campaigns:detail", team_slug=team_slug, pk=pk)


@require_POST
@team_member_required(Role.ADMIN)
def campaign_settings(request: TeamRequest, team_slug: str) -> HttpResponse:
    form = CampaignSettingsForm(request.POST, team=request.team)
    if form.is_valid():
        team = services.campaign_settings_set(
            team=request.team,
            rate=form.cleaned_data["campaign_rate"],
            approval_above=form.cleaned_data["campaign_approval_above"],
            approval_raw=form.cleaned_data["campaign_approval_raw"],
            origin=Origin.from_request(request),
        )
        messages.success(request, f"Campaigns send at {team.campaign_rate} per second.")
        return redirect("campaigns:list", team_slug=team_slug)
    return _list_page(request, form, status=400)


def _state_change(request: TeamRequest, pk: int, what: str) -> HttpResponse:
    campaign = _campaign(request, pk)
    origin = Origin.from_request(request)
    try:
        if what == "pause":
            services.campaign_pause(campaign=campaign, origin=origin)
            messages.success(request, "Paused: nothing more is sent until it is resumed.")
        elif what == "resume":
            services.campaign_resume(campaign=campaign, origin=origin)
            messages.success(request, "Resumed.")
        else:
            stopped = services.campaign_cancel(campaign=campaign, origin=origin)
            messages.success(
                request, f"Cancelled: {stopped} row{'s' if stopped != 1 else ''} not sent."
            )
    except services.CampaignStateError as error:
        messages.error(request, str(error))
    return redirect("campaigns:detail", team_slug=request.team.slug, pk=pk)


@require_POST
@team_member_required(Role.OPERATOR)
def campaign_pause(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    return _state_change(request, pk, "pause")


@require_POST
@team_member_required(Role.OPERATOR)
def campaign_resume(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    return _state_change(request, pk, "resume")


@require_POST
@team_member_required(Role.OPERATOR)
def campaign_cancel(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    return _state_change(request, pk, "cancel")


@require_POST
@team_member_required(Role.OPERATOR)
def campaign_rerun(request: TeamRequest, team_slug: str, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    counts = selectors.campaign_counts(campaign)
    form = RerunForm(request.POST, outcomes=_rerun_choices(counts))
    if not form.is_valid():
        messages.error(request, "Choose which rows to send again.")
        return redirect("campaigns:detail", team_slug=team_slug, pk=pk)
    draft = services.campaign_rerun(
        campaign=campaign,
        outcomes=form.cleaned_data["outcomes"],
        origin=Origin.from_request(request),
        user=request.user,
    )
    messages.success(request, "A new campaign of those rows: check it, then start it.")
    return redirect("campaigns:detail", team_slug=team_slug, pk=draft.pk)


EXPORT_COLUMNS = (
    "position",
    "device_id",
    "outcome",
    "failure_reason",
    "downlink_id",
    "status",
    "problem",
    "payload",
)


@require_GET
@team_member_required(Role.VIEWER)
def campaign_export(request: TeamRequest, team_slug: str, pk: int) -> StreamingHttpResponse:
    campaign = _campaign(request, pk)
    rows = (
        selectors.annotated_rows(campaign)
        .select_related("downlink")
        .order_by("position")
        .iterator(chunk_size=2000)
    )
    writer = csv.writer(Line())

    def lines() -> Any:
        yield writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            downlink = row.downlink
            yield writer.writerow(
                [
                    row.position,
                    safe_cell(row.device_id),
                    row.outcome,
                    safe_cell(row.reason),
                    str(downlink.remote_id or "") if downlink else "",
                    safe_cell(downlink.status) if downlink else "",
                    safe_cell(row.problem),
                    safe_cell(row.payload_summary),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
    return response
