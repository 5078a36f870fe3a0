"""The dashboard: lists, detail, send forms and cancel buttons for a team's downlinks.

Thin views: they parse input, call one selector or service, and render. Every page is a
whole page without JavaScript; with htmx the same URL answers with just the fragment that
changes (the `#name` partials of the same template), so the two cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from audit.models import Outcome
from audit.trail import Origin
from downlinks import selectors, services
from downlinks.forms import DownlinkFilterForm, list_columns, send_form_class
from downlinks.models import Kind
from downlinks.things import (
    LoraDownlink,
    MqttDownlink,
    ThingsBadRequest,
    ThingsError,
    ThingsNotFound,
    ThingsTimeoutError,
)
from teams.access import TeamRequest, team_member_required
from teams.connections import NoCredential
from teams.crypto import DecryptionError
from teams.models import Role

UPSTREAM_FAILURES = (ThingsError, NoCredential, DecryptionError)
# A refused create is the input's fault (shown on the form); the others are the upstream's.
SEND_FAILURE_STATUS = {Outcome.REFUSED: 400, Outcome.UNKNOWN: 504, Outcome.FAILED: 502}


def upstream_problem(error: Exception) -> tuple[str, int]:
    """A banner in words, and the status code the page goes out with."""
    if isinstance(error, NoCredential):
        return str(error), 503
    if isinstance(error, DecryptionError):
        return (
            "The team's stored credential cannot be decrypted with the portal's current keys; "
            "an operator of the portal must fix FIELD_ENCRYPTION_KEYS.",
            503,
        )
    assert isinstance(error, ThingsError)
    status = 504 if isinstance(error, ThingsTimeoutError) else 502
    return (
        f"The Things API could not be reached or answered with an error. {error.describe()}",
        status,
    )


def _fragment(request: TeamRequest, template: str, name: str) -> str:
    """The whole page, or only the named partial for an htmx request that is not boosted."""
    if request.htmx and not request.htmx.boosted:
        return f"{template}#{name}"
    return template


def _kind_context(request: TeamRequest, kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "kind_label": Kind(kind).label,
        "refresh_seconds": settings.LIVE_REFRESH_SECONDS,
    }


# --- Lists -----------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
@team_member_required(Role.VIEWER)
def downlink_list(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    form = DownlinkFilterForm(request.GET, kind=kind)
    context: dict[str, Any] = {
        **_kind_context(request, kind),
        "form": form,
        "page": None,
        "banner": "",
        "list_columns": list_columns(kind),
    }
    status = 200
    if not form.is_valid():
        status = 400  # Nothing is asked of the API until the filters make sense.
    else:
        try:
            context["page"] = selectors.downlink_page(
                team=request.team, kind=kind, filters=form.search_filters()
            )
        except ThingsBadRequest as error:
            # The search itself was refused (e.g. an edited or stale page link in the URL): the
            # request's fault, not an upstream failure.
            context["banner"] = (
                f"{error.describe()} If you followed an old or edited link, clear the filters "
                "and start again."
            )
            status = 400
        except UPSTREAM_FAILURES as error:
            context["banner"], status = upstream_problem(error)
        else:
            rows = context["page"].rows
            services.downlinks_observe(
                team=request.team,
                kind=kind,
                downlinks=[row.downlink for row in rows],
                source="list",
                records={row.downlink.id: row.record for row in rows if row.record is not None},
            )
    query = request.GET.copy()
    for name in ("cursor", "sort"):
        query.pop(name, None)
    context["base_query"] = query.urlencode()
    context["sort"] = form.sort_column
    return render(
        request, _fragment(request, "downlinks/list.html", "results"), context, status=status
    )


# --- Detail ----------------------------------------------------------------------------------


def _fetch_or_404(
    request: TeamRequest, kind: str, downlink_id: UUID
) -> LoraDownlink | MqttDownlink:
    try:
        return selectors.downlink_fetch(team=request.team, kind=kind, downlink_id=downlink_id)
    except ThingsNotFound:
        raise Http404("No such downlink in this team.") from None


@require_GET
@vary_on_headers("HX-Request")
@team_member_required(Role.VIEWER)
def downlink_detail(
    request: TeamRequest, team_slug: str, kind: str, downlink_id: UUID
) -> HttpResponse:
    context: dict[str, Any] = {**_kind_context(request, kind), "detail": None, "banner": ""}
    status = 200
    try:
        downlink = _fetch_or_404(request, kind, downlink_id)
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error)
        context["downlink_id"] = downlink_id
    else:
        record = selectors.downlink_record(team=request.team, kind=kind, downlink_id=downlink.id)
        services.downlinks_observe(
            team=request.team,
            kind=kind,
            downlinks=[downlink],
            source="detail",
            records={downlink.id: record} if record is not None else {},
        )
        context["detail"] = selectors.downlink_history(
            team=request.team, kind=kind, downlink=downlink, record=record
        )
    return render(
        request, _fragment(request, "downlinks/detail.html", "live"), context, status=status
    )


@require_GET
@team_member_required(Role.VIEWER)
def downlink_raw(
    request: TeamRequest, team_slug: str, kind: str, downlink_id: UUID
) -> HttpResponse:
    """The API's answer as it came, on request."""
    context: dict[str, Any] = {
        **_kind_context(request, kind),
        "downlink_id": downlink_id,
        "banner": "",
    }
    status = 200
    try:
        downlink = _fetch_or_404(request, kind, downlink_id)
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error)
    else:
        context["raw_json"] = json.dumps(downlink.raw, indent=2, sort_keys=True)
    return render(request, _fragment(request, "downlinks/raw.html", "raw"), context, status=status)


# --- Send ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_member_required(Role.OPERATOR)
def downlink_send(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    form_class = send_form_class(kind)
    context: dict[str, Any] = {**_kind_context(request, kind), "banner": "", "cloned_from": None}
    status = 200
    if request.method == "POST":
        form = form_class(request.POST)
        new = form.new_downlink()
        if new is None:
            status = 400
        else:
            result = services.downlink_send(
                team=request.team,
                kind=kind,
                new=new,
                origin=Origin.from_request(request),
                user=request.user,
            )
            if result.downlink is not None:
                messages.success(request, result.message)
                return redirect(
                    "downlinks:detail",
                    team_slug=team_slug,
                    kind=kind,
                    downlink_id=result.downlink.id,
                )
            context["banner"] = result.message
            context["outcome"] = result.outcome
            status = SEND_FAILURE_STATUS.get(result.outcome, 502)
    else:
        initial: dict[str, Any] = {}
        clone_id = request.GET.get("clone")
        if clone_id:
            try:
                source = _fetch_or_404(request, kind, UUID(clone_id))
            except ValueError:
                raise Http404("No such downlink to clone.") from None
            except UPSTREAM_FAILURES as error:
                context["banner"], status = upstream_problem(error)
            else:
                initial = form_class.initial_from(source)  # type: ignore[arg-type]
                context["cloned_from"] = source
        form = form_class(initial=initial)
    context["form"] = form
    return render(request, "downlinks/send.html", context, status=status)


@require_POST
@team_member_required(Role.OPERATOR)
def downlink_send_preview(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    """What the form would send, recomputed as the person types: bytes, duration, problems.

    Calls nothing but the form; the API is not involved.
    """
    form = send_form_class(kind)(request.POST)
    form.is_valid()
    payload = form.cleaned_data.get("payload_bytes") if hasattr(form, "cleaned_data") else None
    context = {
        "form": form,
        "byte_count": len(payload) if payload is not None else None,
        "payload_hex": payload.hex().upper() if payload is not None else "",
        "iso_timeout": form.feedback_timeout_iso,
        **_kind_context(request, kind),
    }
    return render(request, "downlinks/send.html#preview", context)


# --- Cancel ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_member_required(Role.OPERATOR)
def downlink_cancel(
    request: TeamRequest, team_slug: str, kind: str, downlink_id: UUID
) -> HttpResponse:
    context: dict[str, Any] = {**_kind_context(request, kind), "banner": "", "refusal": ""}
    try:
        downlink = _fetch_or_404(request, kind, downlink_id)
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error)
        context["downlink_id"] = downlink_id
        return render(request, "downlinks/cancel.html", context, status=status)
    context["downlink"] = downlink
    if request.method == "GET":
        return render(request, "downlinks/cancel.html", context)
    forced = request.POST.get("forced") == "on"
    try:
        result = services.downlink_cancel(
            team=request.team,
            kind=kind,
            before=downlink,
            forced=forced,
            origin=Origin.from_request(request),
        )
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error)
        return render(request, "downlinks/cancel.html", context, status=status)
    if result.accepted:
        messages.success(request, result.message)
        return redirect(
            reverse(
                "downlinks:detail",
                kwargs={"team_slug": team_slug, "kind": kind, "downlink_id": downlink_id},
            )
        )
    context["forced"] = forced
    if result.outcome != Outcome.REFUSED:
        # The API could not be asked, or did not answer usably: an upstream failure (502/504),
        # not a refusal; "Not cancelled" would be wrong when the outcome is unknown.
        context["banner"] = result.message
        timed_out = isinstance(result.error, ThingsTimeoutError)
        return render(request, "downlinks/cancel.html", context, status=504 if timed_out else 502)
    context["refusal"] = result.message
    return render(request, "downlinks/cancel.html", context, status=409)


# --- Sync status (team admins) ----------------------------------------------------------------


@require_GET
@team_member_required(Role.ADMIN)
def sync_status(request: TeamRequest, team_slug: str) -> HttpResponse:
    """How the poller is doing for this team: last successful sync, lag, errors."""
    context = {"states": selectors.sync_overview(team=request.team)}
    return render(request, "downlinks/sync.html", context)
