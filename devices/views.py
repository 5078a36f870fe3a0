"""The device catalogue's pages: the device list (everyone in the team reads it), adding,
changing, removing and importing devices, and device types with their codecs (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from audit.trail import Origin
from core.filter_chips import filter_chips
from core.htmx import filtered_list
from devices import services
from devices.forms import (
    IMPORT_COLUMNS,
    DeviceFilterForm,
    DeviceForm,
    DeviceImportForm,
    DeviceTypeForm,
)
from devices.models import CodecVersion, Device, DeviceType, Kind
from devices.selectors import DeviceFilters, device_page, device_types_of
from teams.access import TeamRequest, permissions, team_member_required
from teams.models import Role

# --- Devices --------------------------------------------------------------------------------


@require_GET
@team_member_required(Role.VIEWER)
def device_list(request: TeamRequest, team_slug: str) -> HttpResponse:
    form = DeviceFilterForm(request.GET or None, team=request.team)
    valid = not form.is_bound or form.is_valid()
    page = None
    if valid:
        data = form.cleaned_data if form.is_bound else {}
        filters = DeviceFilters(
            q=data.get("q", ""),
            tag=data.get("tag", ""),
            device_type=data.get("device_type", ""),
            kind=data.get("kind", ""),
        )
        page = device_page(request.team, filters, request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "list_path": request.path,
        "query": form.query(),
        "chips": filter_chips(form),
        "kinds": Kind.choices,
        **permissions(request.membership),
    }
    return filtered_list(request, "devices/devices.html", context, status=200 if valid else 400)


def _device_form_page(
    request: TeamRequest, form: DeviceForm, device: Device | None, status: int = 200
) -> HttpResponse:
    return render(
        request, "devices/device_form.html", {"form": form, "device": device}, status=status
    )


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def device_new(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _device_save(request, None)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def device_edit(request: TeamRequest, team_slug: str, device_pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=device_pk, team=request.team)
    return _device_save(request, device)


def _device_save(request: TeamRequest, device: Device | None) -> HttpResponse:
    if request.method == "GET":
        return _device_form_page(request, DeviceForm(team=request.team, device=device), device)
    form = DeviceForm(request.POST, team=request.team, device=device)
    if form.is_valid():
        try:
            saved = services.device_save(
                team=request.team,
                values=form.cleaned_data["values"],
                origin=Origin.from_request(request),
                device=device,
            )
        except services.DeviceRuleError as error:
            form.add_error("device_id", str(error))
        else:
            messages.success(
                request, f"{saved.device_id} was {'added' if device is None else 'changed'}."
            )
            return redirect("devices:list", team_slug=request.team.slug)
    return _device_form_page(request, form, device, status=400)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def device_remove(request: TeamRequest, team_slug: str, device_pk: int) -> HttpResponse:
    """GET asks first; POST takes the device off the list (its downlinks stay)."""
    device = get_object_or_404(Device, pk=device_pk, team=request.team)
    if request.method == "GET":
        return render(request, "devices/device_remove.html", {"device": device})
    services.device_remove(device=device, origin=Origin.from_request(request))
    messages.success(request, f"{device.device_id} was taken off the list.")
    return redirect("devices:list", team_slug=team_slug)


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def device_import(request: TeamRequest, team_slug: str) -> HttpResponse:
    if request.method == "GET":
        form = DeviceImportForm(team=request.team)
        return render(request, "devices/import.html", {"form": form, "columns": IMPORT_COLUMNS})
    form = DeviceImportForm(request.POST, request.FILES, team=request.team)
    if form.is_valid():
        result = services.devices_import(
            team=request.team, rows=form.cleaned_data["file"], origin=Origin.from_request(request)
        )
        messages.success(
            request,
            f"Imported: {result.added} device{'s' if result.added != 1 else ''} added, "
            f"{result.updated} updated.",
        )
        return redirect("devices:list", team_slug=team_slug)
    context = {"form": form, "columns": IMPORT_COLUMNS, "row_problems": form.row_problems}
    return render(request, "devices/import.html", context, status=400)


@require_GET
@team_member_required(Role.ADMIN)
def import_template(request: TeamRequest, team_slug: str) -> HttpResponse:
    """An empty import file with its header row, and one example row."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="devices.csv"'
    response.write(",".join(IMPORT_COLUMNS) + "\r\n")
    response.write("deveui:0004a30b001c0530,Meter hall 3,,north pilot,lora\r\n")
    return response


# --- Device types ---------------------------------------------------------------------------


@require_GET
@team_member_required(Role.ADMIN)
def device_types(request: TeamRequest, team_slug: str) -> HttpResponse:
    return render(
        request, "devices/device_types.html", {"device_types": device_types_of(request.team)}
    )


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def device_type_new(request: TeamRequest, team_slug: str) -> HttpResponse:
    return _device_type_save(request, DeviceType(team=request.team))


@require_http_methods(["GET", "POST"])
@team_member_required(Role.ADMIN)
def device_type_edit(request: TeamRequest, team_slug: str, type_pk: int) -> HttpResponse:
    device_type = get_object_or_404(device_types_of(request.team), pk=type_pk)
    return _device_type_save(request, device_type)


def _device_type_save(request: TeamRequest, device_type: DeviceType) -> HttpResponse:
    creating = device_type.pk is None
    status = 200
    if request.method == "GET":
        form = DeviceTypeForm(instance=device_type, team=request.team)
    else:
        form = DeviceTypeForm(request.POST, request.FILES, instance=device_type, team=request.team)
        status = 400
        if form.is_valid():
            try:
                version = services.device_type_save(
                    device_type=form.instance,
                    codec=form.codec_upload(),
                    origin=Origin.from_request(request),
                    uploaded_by=request.user if request.user.is_authenticated else None,
                )
            except services.CodecRejected as rejected:
                for problem in rejected.problems:
                    form.add_error("codec", problem)
            except services.DeviceRuleError as error:
                form.add_error(None, str(error))
            else:
                saved = form.instance
                said = f"{saved.name} was {'added' if creating else 'saved'}"
                if version is not None:
                    said += f", with codec version {version.number}"
                    if version.examples_run:
                        said += f" ({version.examples_run} examples passed)"
                messages.success(request, said + ".")
                return redirect("devices:type_edit", team_slug=request.team.slug, type_pk=saved.pk)
    versions = [] if creating else list(device_type.codec_versions.select_related("uploaded_by"))
    context = {"form": form, "device_type": device_type, "creating": creating, "versions": versions}
    return render(request, "devices/device_type_form.html", context, status=status)


@require_GET
@team_member_required(Role.ADMIN)
def codec_source(request: TeamRequest, team_slug: str, type_pk: int, number: int) -> HttpResponse:
    """A codec version as it was uploaded (plain text: never run by the browser)."""
    version = get_object_or_404(
        CodecVersion, device_type__team=request.team, device_type_id=type_pk, number=number
    )
    response = HttpResponse(version.source, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response
