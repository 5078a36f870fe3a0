"""The dashboard: lists, detail, send forms and cancel buttons for a team's downlinks.

Thin views: they parse input, call one selector or service, and render. Every page is a
whole page without JavaScript; with htmx the same URL answers with just the fragment that
changes (the `#name` partials of the same template), so the two cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import update_wrapper
from typing import Any, Concatenate
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Outcome
from audit.trail import Origin
from core.filter_chips import filter_chips
from core.htmx import filtered_list, page_or_fragment
from devices.decoding import Meaning, payload_meaning
from devices.models import Kind
from downlinks import selectors, services
from downlinks.forms import (
    CancelForm,
    DownlinkFilterForm,
    SendForm,
    list_columns,
    send_form_class,
)
from downlinks.live import LiveOutage
from downlinks.models import Downlink, SendState
from teams.access import TeamRequest, team_member_required
from teams.connections import NoCredential
from teams.crypto import DecryptionError
from teams.models import Role
from things_api import (
    LoraDownlink,
    MqttBinaryMessage,
    MqttDownlink,
    ThingsAuthError,
    ThingsBadRequest,
    ThingsError,
    ThingsForbidden,
    ThingsNotFound,
    ThingsTimeoutError,
    ThingsUnauthorized,
)

UPSTREAM_FAILURES = (ThingsError, NoCredential, DecryptionError)
# A refused create is the input's fault (shown on the form); the others are the upstream's.
SEND_FAILURE_STATUS = {Outcome.REFUSED: 400, Outcome.UNKNOWN: 504, Outcome.FAILED: 502}


# What the team's credential is the cause of: a team admin can do something about it.
CREDENTIAL_FAILURES = (ThingsAuthError, ThingsUnauthorized, ThingsForbidden)


def upstream_problem(error: Exception, request: TeamRequest) -> tuple[str, int]:
    """A banner in words that say what happened (each kind of failure its own), and the
    status code the page goes out with. A credential problem says who can fix it: the person
    themselves if they are a team admin, else the team's admins by name."""
    if isinstance(error, DecryptionError):
        return (
            "The team's stored credential cannot be decrypted with the portal's current keys; "
            "an operator of the portal must fix FIELD_ENCRYPTION_KEYS.",
            503,
        )
    if isinstance(error, NoCredential):
        return f"{error} {_who_can_fix_the_credential(request, 'enter one')}", 503
    assert isinstance(error, ThingsError)
    text = with_who_can_fix(error.describe(), error, request)
    return text, 504 if isinstance(error, ThingsTimeoutError) else 502


def with_who_can_fix(text: str, error: Exception | None, request: TeamRequest) -> str:
    """`text`, and for a credential the API did not accept, who can fix it."""
    if isinstance(error, CREDENTIAL_FAILURES):
        sentence = text if text.endswith((".", "!", "?")) else f"{text}."
        return f"{sentence} {_who_can_fix_the_credential(request, 'check it')}"
    return text


def _who_can_fix_the_credential(request: TeamRequest, what: str) -> str:
    if request.membership.allows(Role.ADMIN):
        return f"You are an admin of this team: {what} on its Credential page."
    names = request.team.admin_usernames()
    if not names:
        return "The team has no admin yet; ask the portal's operators."
    return f"Ask a team admin to {what}: {', '.join(names)}."


def kind_context(request: TeamRequest, kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "kind_label": Kind(kind).label,
        "refresh_seconds": settings.LIVE_REFRESH_SECONDS,
    }


# --- Lists -----------------------------------------------------------------------------------


@require_GET
@team_member_required(Role.VIEWER)
def downlink_list(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    form = DownlinkFilterForm(request.GET, kind=kind)
    other_kind = Kind.MQTT if kind == Kind.LORA else Kind.LORA
    context: dict[str, Any] = {
        **kind_context(request, kind),
        "form": form,
        "page": None,
        "banner": "",
        "list_columns": list_columns(kind),
        "chips": filter_chips(form),
        "device_suggestions": [],
        "missing_downlink": None,
        "other_kind": other_kind.value,
        "other_kind_label": other_kind.label,
    }
    status = 200
    if not form.is_valid():
        status = 400  # Nothing is asked of the API until the filters make sense.
        context["device_suggestions"] = _device_suggestions(request, kind, form)
    else:
        try:
            pasted = form.downlink_id
            if pasted is not None:
                found = selectors.downlink_lookup(team=request.team, kind=kind, downlink_id=pasted)
                if found is not None:
                    return _open_downlink(request, kind, found.id)
                # A UUID is also a device id: the device's downlinks, if any, still show.
                context["missing_downlink"] = pasted
            context["page"] = selectors.downlink_page(
                team=request.team,
                kind=kind,
                filters=form.search_filters(),
                outcome=form.cleaned_data["outcome"],
            )
        except selectors.StaleListLink:
            context["banner"] = (
                "This page link does not fit these filters. If you followed an old or edited "
                "link, clear the filters and start again."
            )
            status = 400
        except ThingsBadRequest as error:
            # The search itself was refused: the request's fault, not an upstream failure.
            context["banner"] = _refused_search(form, error)
            status = 400
        except UPSTREAM_FAILURES as error:
            context["banner"], status = upstream_problem(error, request)
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
    return filtered_list(request, "downlinks/list.html", context, status=status)


def _refused_search(form: DownlinkFilterForm, error: ThingsBadRequest) -> str:
    """A search the API refused, in words. Only a request with a page link (a cursor) is
    blamed on an old or edited link; filters just typed are named, with the API's reason."""
    if form.cleaned_data["cursor"]:
        return (
            f"{error.describe()} If you followed an old or edited link, clear the filters "
            "and start again."
        )
    reason = error.problem.summary() if error.problem is not None else ""
    refused = f"The Things API refused to search for {form.search_in_words()}"
    if not reason:
        return f"{refused} (HTTP {error.status_code})."
    return f"{refused}: {reason}" + ("" if reason.endswith((".", "!", "?")) else ".")


def _device_suggestions(
    request: TeamRequest, kind: str, form: DownlinkFilterForm
) -> list[tuple[str, str]]:
    """For a bare EUI or IMEI: each device id it may mean, with the link to the same list
    filtered by it."""
    links = []
    for device_id in form.device_suggestions:
        query = request.GET.copy()
        query["device"] = device_id
        query.pop("cursor", None)
        url = reverse("downlinks:list", kwargs={"team_slug": request.team.slug, "kind": kind})
        links.append((device_id, f"{url}?{query.urlencode()}"))
    return links


def _open_downlink(request: TeamRequest, kind: str, downlink_id: UUID) -> HttpResponse:
    """To a downlink's page; htmx (the filter form) is told to go there as a whole page."""
    url = reverse(
        "downlinks:detail",
        kwargs={"team_slug": request.team.slug, "kind": kind, "downlink_id": downlink_id},
    )
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# --- Detail ----------------------------------------------------------------------------------


def _fetch_or_404(
    request: TeamRequest, kind: str, downlink_id: UUID
) -> LoraDownlink | MqttDownlink:
    try:
        return selectors.downlink_fetch(team=request.team, kind=kind, downlink_id=downlink_id)
    except ThingsNotFound:
        raise Http404("No such downlink in this team.") from None


def _meaning(
    request: TeamRequest,
    kind: str,
    downlink: LoraDownlink | MqttDownlink | None,
    record: Downlink | None,
) -> Meaning | None:
    """The downlink's bytes decoded by its device type's codec, where there is one."""
    payload: bytes | None = None
    f_port: int | None = None
    if isinstance(downlink, LoraDownlink):
        payload, f_port = downlink.message.payload_bytes, downlink.message.f_port
    elif isinstance(downlink, MqttDownlink) and isinstance(downlink.message, MqttBinaryMessage):
        payload = downlink.message.payload_bytes
    if downlink is None or payload is None:
        return None
    return payload_meaning(
        team=request.team,
        kind=kind,
        device_id=downlink.device_id,
        payload=payload,
        f_port=f_port,
        codec=record.codec_version if record is not None else None,
    )


@require_GET
@team_member_required(Role.VIEWER)
def downlink_detail(
    request: TeamRequest, team_slug: str, kind: str, downlink_id: UUID
) -> HttpResponse:
    """The downlink as the API has it, with what the portal saw and did. When the API cannot be
    read, the page keeps what the portal holds, says since when the live data is missing, and
    keeps trying (further apart each time, see `LiveOutage`) until it is back."""
    context: dict[str, Any] = {**kind_context(request, kind), "banner": "", "outage": None}
    status = 200
    downlink: LoraDownlink | MqttDownlink | None = None
    try:
        downlink = _fetch_or_404(request, kind, downlink_id)
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error, request)
        if isinstance(error, ThingsError):  # a missing credential does not come back by itself
            context["outage"] = LiveOutage.continued(request.GET)
    # Read after the API answered, so an observation the poller recorded meanwhile is in it.
    record = selectors.downlink_record(team=request.team, kind=kind, downlink_id=downlink_id)
    if downlink is not None:
        services.downlinks_observe(
            team=request.team,
            kind=kind,
            downlinks=[downlink],
            source="detail",
            records={downlink.id: record} if record is not None else {},
        )
    context["downlink_id"] = downlink_id
    context["meaning"] = _meaning(request, kind, downlink, record)
    context["detail"] = selectors.downlink_history(
        team=request.team, downlink_id=downlink_id, downlink=downlink, record=record
    )
    return page_or_fragment(
        request, "downlinks/detail.html", context, fragment="live", status=status
    )


@require_GET
@team_member_required(Role.VIEWER)
def downlink_raw(
    request: TeamRequest, team_slug: str, kind: str, downlink_id: UUID
) -> HttpResponse:
    """The API's answer as it came, on request."""
    context: dict[str, Any] = {
        **kind_context(request, kind),
        "downlink_id": downlink_id,
        "banner": "",
    }
    status = 200
    try:
        downlink = _fetch_or_404(request, kind, downlink_id)
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error, request)
    else:
        context["raw_json"] = json.dumps(downlink.raw, indent=2, sort_keys=True)
    return page_or_fragment(request, "downlinks/raw.html", context, fragment="raw", status=status)


# --- Send ------------------------------------------------------------------------------------


def raw_send_allowed[**P](
    view: Callable[Concatenate[TeamRequest, P], HttpResponse],
) -> Callable[Concatenate[TeamRequest, P], HttpResponse]:
    """The raw send forms, unless the team's operators send from templates only (a team
    setting; admins may still send raw): then a refusal in words, with the way to templates."""

    def wrapper(request: TeamRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if request.team.templates_only and not request.membership.allows(Role.ADMIN):
            context = {"admins": request.team.admin_usernames()}
            return render(request, "downlinks/templates_only.html", context, status=403)
        return view(request, *args, **kwargs)

    update_wrapper(wrapper, view)
    return wrapper


@require_http_methods(["GET", "POST"])
@team_member_required(Role.OPERATOR)
@raw_send_allowed
def downlink_send(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    form_class = send_form_class(kind)
    context: dict[str, Any] = {**kind_context(request, kind), "banner": "", "cloned_from": None}
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, lora_payload_limit=request.team.lora_payload_limit)
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
                submission_key=str(form.cleaned_data["submission_key"]),
                send_anyway=form.cleaned_data["send_anyway"],
            )
            return answer_send(request, kind, form, result, context)
    else:
        initial: dict[str, Any] = {}
        clone_id = request.GET.get("clone")
        resend_id = request.GET.get("resend")
        if clone_id:
            try:
                source = _fetch_or_404(request, kind, UUID(clone_id))
            except ValueError:
                raise Http404("No such downlink to clone.") from None
            except UPSTREAM_FAILURES as error:
                context["banner"], status = upstream_problem(error, request)
            else:
                initial = form_class.initial_from(source.raw)
                context["cloned_from"] = source
        elif resend_id:
            attempt = selectors.send_attempt(
                team=request.team, kind=kind, record_id=_record_id(resend_id)
            )
            if attempt is None:
                raise Http404("No such send attempt.")
            initial = form_class.initial_from(attempt.record.request_body)
            context["resent_from"] = attempt.record
        form = form_class(initial=initial, lora_payload_limit=request.team.lora_payload_limit)
    context["form"] = form
    return render(request, "downlinks/send.html", context, status=status)


def _record_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Http404("No such send attempt.") from None


def attempt_url(team_slug: str, kind: str, record_id: int) -> str:
    return reverse(
        "downlinks:attempt", kwargs={"team_slug": team_slug, "kind": kind, "record_id": record_id}
    )


def answer_send(
    request: TeamRequest,
    kind: str,
    form: SendForm[Any],
    result: services.SendResult,
    context: dict[str, Any],
    page: str = "downlinks/send.html",
) -> HttpResponse:
    """The answer to a form the service was asked to send, for the raw and the template
    forms alike: the downlink's page; the attempt's record for an unknown outcome; or `page`
    again, with what is on its way or why nothing was sent."""
    if result.repeated:
        assert result.record is not None
        return already_submitted(request, kind, form, result.record, context, page)
    if result.on_its_way:
        context["on_its_way"] = result.on_its_way
        status = 409
    elif result.downlink is not None:
        messages.success(request, result.message)
        return redirect(
            "downlinks:detail",
            team_slug=request.team.slug,
            kind=kind,
            downlink_id=result.downlink.id,
        )
    elif result.outcome == Outcome.UNKNOWN:
        # Not a form ready to send again: the record of this attempt, followed up (its page
        # says what happened and what comes next).
        assert result.record is not None
        return redirect(attempt_url(request.team.slug, kind, result.record.pk))
    else:
        # Certainly not created: the form again, as filled in, under a new key.
        context["banner"] = with_who_can_fix(result.message, result.error, request)
        context["outcome"] = result.outcome
        status = SEND_FAILURE_STATUS.get(result.outcome or Outcome.FAILED, 502)
        form = form.with_fresh_key()
    context["form"] = form
    return render(request, page, context, status=status)


def already_submitted(
    request: TeamRequest,
    kind: str,
    form: SendForm[Any],
    record: Downlink,
    context: dict[str, Any],
    page: str = "downlinks/send.html",
) -> HttpResponse:
    """A second submission of the same form: nothing is sent; show what the first became."""
    when = formats.time_format(timezone.localtime(record.created_at), "H:i:s")
    if record.remote_id is not None:
        messages.info(
            request,
            f"This form was sent already (at {when}); nothing was sent again. This is the "
            "downlink it created.",
        )
        return redirect(
            "downlinks:detail",
            team_slug=request.team.slug,
            kind=kind,
            downlink_id=record.remote_id,
        )
    if record.send_state in (SendState.REFUSED, SendState.FAILED):
        context["banner"] = (
            f"This form was sent already (at {when}) and did not get through: "
            f"{record.send_message} Nothing was sent again."
        )
        context["form"] = form.with_fresh_key()
        return render(request, page, context, status=409)
    messages.info(request, f"This form was sent already (at {when}); nothing was sent again.")
    return redirect(attempt_url(request.team.slug, kind, record.pk))


@require_GET
@team_member_required(Role.VIEWER)
def send_attempt(request: TeamRequest, team_slug: str, kind: str, record_id: int) -> HttpResponse:
    """The record of one create the portal attempted: what it is known to have become, and
    what the portal does next. Once the downlink is known, its own page takes over."""
    attempt = selectors.send_attempt(team=request.team, kind=kind, record_id=record_id)
    if attempt is None:
        raise Http404("No such send attempt in this team.")
    record = attempt.record
    if record.remote_id is not None and not request.htmx:
        return redirect(
            "downlinks:detail", team_slug=team_slug, kind=kind, downlink_id=record.remote_id
        )
    context = {
        **kind_context(request, kind),
        "attempt": attempt,
        "record": record,
        "poll_seconds": settings.POLL_INTERVAL_SECONDS,
    }
    return page_or_fragment(request, "downlinks/attempt.html", context, fragment="live")


@require_POST
@team_member_required(Role.OPERATOR)
@raw_send_allowed
def downlink_send_preview(request: TeamRequest, team_slug: str, kind: str) -> HttpResponse:
    """What the form would send, recomputed as the person types: bytes, duration, problems.

    Calls nothing but the form; the API is not involved.
    """
    form = send_form_class(kind)(request.POST, lora_payload_limit=request.team.lora_payload_limit)
    form.is_valid()
    payload = form.cleaned_data.get("payload_bytes") if hasattr(form, "cleaned_data") else None
    context = {
        "form": form,
        "byte_count": len(payload) if payload is not None else None,
        "payload_hex": payload.hex().upper() if payload is not None else "",
        "iso_timeout": form.feedback_timeout_iso,
        "previewing": True,  # the errors as one types (a sent form has its summary at the top)
        **kind_context(request, kind),
    }
    return render(request, "downlinks/send.html#preview", context)


# --- Cancel ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_member_required(Role.OPERATOR)
def downlink_cancel(
    request: TeamRequest, team_slug: str, kind: str, downlink_id: UUID
) -> HttpResponse:
    context: dict[str, Any] = {**kind_context(request, kind), "banner": "", "refusal": ""}
    try:
        downlink = _fetch_or_404(request, kind, downlink_id)
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error, request)
        context["downlink_id"] = downlink_id
        return render(request, "downlinks/cancel.html", context, status=status)
    context["downlink"] = downlink
    form = CancelForm(request.POST if request.method == "POST" else None)
    context["form"] = form
    if not form.is_bound:
        return render(request, "downlinks/cancel.html", context)
    forced = form.is_valid() and form.cleaned_data["forced"]
    try:
        result = services.downlink_cancel(
            team=request.team,
            kind=kind,
            before=downlink,
            forced=forced,
            origin=Origin.from_request(request),
        )
    except UPSTREAM_FAILURES as error:
        context["banner"], status = upstream_problem(error, request)
        return render(request, "downlinks/cancel.html", context, status=status)
    if result.accepted:
        messages.success(request, result.message)
        return redirect(
            reverse(
                "downlinks:detail",
                kwargs={"team_slug": team_slug, "kind": kind, "downlink_id": downlink_id},
            )
        )
    if result.outcome == Outcome.UNKNOWN:
        # It may have been accepted: not the confirmation again, but the downlink's page,
        # which says the cancellation is being checked (and offers Cancel once it is known
        # not to have taken effect).
        messages.warning(request, result.message)
        return redirect(
            reverse(
                "downlinks:detail",
                kwargs={"team_slug": team_slug, "kind": kind, "downlink_id": downlink_id},
            )
        )
    if result.outcome != Outcome.REFUSED:
        # The API could not be asked: an upstream failure (502/504), not a refusal.
        context["banner"] = with_who_can_fix(result.message, result.error, request)
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
