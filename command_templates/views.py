"""Template pages: the team's templates (everyone reads them; operators send from them),
and the editor with each template's version history (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.trail import Origin
from command_templates import services
from command_templates.forms import TemplateFinderForm, TemplateForm, TemplatesOnlyForm
from command_templates.models import CommandTemplate
from command_templates.selectors import templates_for
from teams import services as team_services
from teams.access import TeamRequest, permissions, team_member_required
from teams.models import Role


@require_GET
@team_member_required(Role.VIEWER)
def template_list(request: TeamRequest, team_slug: str) -> HttpResponse:
    finder = TemplateFinderForm(request.GET or None)
    wanted = finder.cleaned_data if finder.is_valid() else {}
    choice = templates_for(request.team, q=wanted.get("q", ""), device_id=wanted.get("device", ""))
    context = {
        "finder": finder,
        "choice": choice,
        "templates": choice.templates,
        "rule_form": TemplatesOnlyForm(initial={"templates_only": request.team.templates_only}),
        **permissions(request.membership),
    }
    return render(request, "command_templates/list.html", context)


@require_POST
@team_member_required(Role.ADMIN)
def templates_only(request: TeamRequest, team_slug: str) -> HttpResponse:
    form = TemplatesOnlyForm(request.POST)
    form.is_valid()  # a checkbox: always valid
    team = team_services.templates_only_set(
        team=request.team,
        templates_only=form.cleaned_data["templates_only"],
        origin=Origin.from_request(request),
    )
    messages.success(
        request,
        "Operators now send from templates only."
        if team.templates_only
        else "Operators may send raw downlinks again.",
    )
    return redirect("command_templates:list", team_slug=team_slug)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def template_new(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _template_save(request, None)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def template_edit(request: TeamRequest, team_slug: str, template_pk: int) -> HttpResponse:
    template = get_object_or_404(
        CommandTemplate.objects.prefetch_related("versions"), pk=template_pk, team=request.team
    )
    return _template_save(request, template)


def _template_save(request: TeamRequest, template: CommandTemplate | None) -> HttpResponse:
    if request.method == "GET":
        form = TemplateForm(team=request.team, template=template)
        status = 200
    else:
        form = TemplateForm(request.POST, team=request.team, template=template)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            target = template or CommandTemplate(team=request.team, kind=data["kind"])
            target.name = data["name"]
            target.device_type = data["device_type"]
            try:
                version = services.template_save(
                    template=target,
                    description=data["description"],
                    source=data["definition"],
                    definition=data["read"],
                    origin=Origin.from_request(request),
                    user=request.user if request.user.is_authenticated else None,
                )
            except services.TemplateRuleError as error:
                form.add_error("name", str(error))
            else:
                messages.success(request, f"{target.name} is saved as version {version.number}.")
                return redirect(
                    "command_templates:edit", team_slug=request.team.slug, template_pk=target.pk
                )
    versions = (
        list(template.versions.select_related("created_by").order_by("-number")) if template else []
    )
    context = {"form": form, "template": template, "versions": versions}
    return render(request, "command_templates/form.html", context, status=status)
