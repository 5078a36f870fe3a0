"""What the device pages read."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet

from devices.models import Device, DeviceType
from teams.models import Team

DEVICE_PAGE_SIZE = 50


@dataclass(frozen=True)
class DeviceFilters:
    q: str = ""
    tag: str = ""
    device_type: str = ""
    kind: str = ""


def device_types_of(team: Team) -> QuerySet[DeviceType]:
    """The team's device types with their codec versions and how many devices each has."""
    return (
        DeviceType.objects.filter(team=team)
        .prefetch_related("codec_versions")
        .annotate(device_count=Count("devices"))
    )


def devices_matching(team: Team, filters: DeviceFilters) -> QuerySet[Device]:
    devices = Device.objects.filter(team=team)
    if filters.q:
        devices = devices.filter(
            Q(key__icontains=filters.q.strip().lower().removeprefix("urn:dev:"))
            | Q(device_id__icontains=filters.q.strip())
            | Q(label__icontains=filters.q.strip())
        )
    if filters.tag:
        devices = devices.filter(tags__name=filters.tag)
    if filters.device_type:
        devices = devices.filter(device_type_id=int(filters.device_type))
    if filters.kind:
        devices = devices.filter(kind=filters.kind)
    return devices.select_related("device_type").prefetch_related("tags")


def device_page(team: Team, filters: DeviceFilters, number: str | None) -> Page[Device]:
    paginator = Paginator(devices_matching(team, filters), DEVICE_PAGE_SIZE)
    return paginator.get_page(number)
