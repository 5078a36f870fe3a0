"""What the device pages read."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet

from devices.models import CodecVersion, Device, DeviceType
from teams.models import Team
from things_api import same_device_key

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
        # Each version's number and dates, not its source (up to CODEC_MAX_BYTES each).
        .prefetch_related(
            Prefetch("codec_versions", queryset=CodecVersion.objects.defer("source", "examples"))
        )
        .annotate(device_count=Count("devices"))
    )


def devices_matching(team: Team, filters: DeviceFilters) -> QuerySet[Device]:
    devices = Device.objects.filter(team=team)
    if filters.q.strip():
        text = filters.q.strip()
        # The id in the one spelling the list keeps (any case, with or without urn:dev:).
        devices = devices.filter(
            Q(key__icontains=same_device_key(text))
            | Q(device_id__icontains=text)
            | Q(label__icontains=text)
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
