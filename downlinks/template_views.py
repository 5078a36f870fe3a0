"""Sending from a template (operators): the template's form, a live preview of exactly what
will be sent, and the send itself through the same exactly-once service as the raw forms."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.trail import Origin
from command_templates.fields import parameter_initial
from command_templates.models import CommandTemplate
from downlinks import services
from downlinks.forms import TemplateSendForm
from downlinks.models import Downlink
from downlinks.views import answer_send, kind_context
from teams.access import TeamRequest, team_member_required
from teams.models import Role

PAGE = "downlinks/template_send.html"


def _template(request: TeamRequest, template_pk: int) -> CommandTemplate:
    return get_object_or_404(
        CommandTemplate.objects.select_related("device_type").prefetch_related("versions"),
        pk=template_pk,
        team=request.team,
    )


def _form(
    request: TeamRequest,
    template: CommandTemplate,
    data: Any = None,
    initial: dict[str, Any] | None = None,
) -> TemplateSendForm:
    return TemplateSendForm(
        data,
        version=template.current(),
        device_type=template.device_type,
        lora_payload_limit=request.team.lora_payload_limit,
        initial=initial or {},
    )


def _cloned(request: TeamRequest, template: CommandTemplate) -> Downlink | None:
    """The record `?clone=` names: one of this team's downlinks sent with this template."""
    try:
        record_id = int(request.GET.get("clone", ""))
    except ValueError:
        return None
    return (
        Downlink.objects.filter(
            team=request.team, pk=record_id, template_version__template=template
        )
        .select_related("template_version")
        .first()
    )


@require_http_methods(["GET", "POST"])
@team_member_required(Role.OPERATOR)
def template_send(request: TeamRequest, team_slug: str, template_pk: int) -> HttpResponse:
    template = _template(request, template_pk)
    kind = template.kind
    context: dict[str, Any] = {**kind_context(request, kind), "template": template, "banner": ""}
    status = 200
    if request.method == "GET":
        initial: dict[str, Any] = {"device_id": request.GET.get("device", "")}
        cloned = _cloned(request, template) if "clone" in request.GET else None
        if "clone" in request.GET and cloned is None:
            raise Http404("No such downlink of this template to clone.")
        if cloned is not None:
            # The same values, where this version still has the parameter.
            initial = {"device_id": cloned.device_id, **parameter_initial(cloned.template_values)}
            context["cloned_from"] = cloned
        form = _form(request, template, initial=initial)
    else:
        form = _form(request, template, request.POST)
        new = form.new_downlink()
        if new is None:
            status = 400
        else:
            assert form.made is not None
            result = services.downlink_send(
                team=request.team,
                kind=kind,
                new=new,
                origin=Origin.from_request(request),
                user=request.user,
                submission_key=str(form.cleaned_data["submission_key"]),
                send_anyway=form.cleaned_data["send_anyway"],
                made_with=services.MadeWith(form.version, form.values(), form.made.codec_version),
            )
            return answer_send(request, kind, form, result, context, PAGE)
    context["form"] = form
    return render(request, PAGE, context, status=status)


@require_POST
@team_member_required(Role.OPERATOR)
def template_send_preview(request: TeamRequest, team_slug: str, template_pk: int) -> HttpResponse:
    """What the values make, for the form's live preview (sends nothing)."""
    template = _template(request, template_pk)
    form = _form(request, template, request.POST)
    form.is_valid()
    context = {"form": form, "template": template, "kind": template.kind}
    return render(request, f"{PAGE}#preview", context)
