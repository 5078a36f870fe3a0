"""Which templates the list shows: those matching the search, and for a device the ones that
fit it (its type's, and those for any device of its kind)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q

from command_templates.models import CommandTemplate, TemplateVersion
from devices.fields import kind_of_device_id
from devices.models import Device
from teams.models import Team
from things_api import device_id_format, same_device_key


@dataclass(frozen=True)
class TemplateChoice:
    templates: list[CommandTemplate]
    # The device the list was narrowed for, when the team lists it.
    device: Device | None = None
    device_id: str = ""


def templates_for(team: Team, *, q: str = "", device_id: str = "") -> TemplateChoice:
    templates = CommandTemplate.objects.filter(team=team)
    if q.strip():
        templates = templates.filter(
            Q(name__icontains=q.strip()) | Q(versions__description__icontains=q.strip())
        ).distinct()
    device = None
    if device_id and device_id_format(device_id) is not None:
        device = (
            Device.objects.filter(team=team, key=same_device_key(device_id))
            .select_related("device_type")
            .first()
        )
        kind = device.kind if device is not None else kind_of_device_id(device_id)
        if device is not None and device.device_type is not None:
            templates = templates.filter(
                Q(device_type=device.device_type) | Q(device_type__isnull=True, kind=kind)
            )
        elif kind is not None:
            templates = templates.filter(kind=kind)
    found = list(
        templates.select_related("device_type").prefetch_related(
            Prefetch(
                "versions",
                queryset=TemplateVersion.objects.only(
                    "id", "template_id", "number", "description", "created_at"
                ),
            )
        )
    )
    return TemplateChoice(found, device, device_id)
