"""Changes to a team's device types, codecs and devices. Each writes its audit entry in the
same transaction, so a change that rolls back leaves no entry behind. A codec is run (loaded,
and its examples checked) before the transaction, so no lock waits on V8."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from audit.models import Action, Outcome
from audit.trail import Origin, record
from devices.codecs import codec_problems
from devices.models import CodecVersion, Device, DeviceTag, DeviceType
from teams.models import Team
from teams.services import team_ref
from things_api import same_device_key


class DeviceRuleError(Exception):
    """A change the rules do not allow; the message says why, in words."""


class CodecRejected(Exception):
    """The uploaded codec does not load, has no encoder, or fails its own examples."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class CodecUpload:
    source: str
    examples: str = ""


_TYPE_FIELDS = ("name", "kind", "default_f_port", "default_topic", "payload_limit")


def _type_values(device_type: DeviceType) -> dict[str, Any]:
    return {name: getattr(device_type, name) for name in _TYPE_FIELDS}


def device_type_save(
    *,
    device_type: DeviceType,
    codec: CodecUpload | None,
    origin: Origin,
    uploaded_by: AbstractBaseUser | None,
) -> CodecVersion | None:
    """Create or change `device_type` (its team set), with a new codec version if `codec`;
    the new version, if any. Raises CodecRejected, or DeviceRuleError."""
    checked: tuple[int, bool] | None = None  # examples run, has a decoder: when `codec`
    if codec is not None:
        problems, examples_run, has_decoder = codec_problems(codec.source, codec.examples)
        if problems:
            raise CodecRejected(problems)
        checked = (examples_run, has_decoder)
    team = device_type.team
    creating = device_type.pk is None
    with transaction.atomic():
        before: dict[str, Any] = {}
        if not creating:
            stored = DeviceType.objects.select_for_update().get(pk=device_type.pk)
            before = _type_values(stored)
            if stored.kind != device_type.kind and stored.devices.exists():
                raise DeviceRuleError(
                    f"{stored.name} has devices, so its kind stays {stored.get_kind_display()}."
                )
        if (
            DeviceType.objects.filter(team=team, name__iexact=device_type.name)
            .exclude(pk=device_type.pk)
            .exists()
        ):
            raise DeviceRuleError(f"{team.name} has a device type called {device_type.name!r}.")
        device_type.save()
        after = _type_values(device_type)
        changed = {name: after[name] for name in _TYPE_FIELDS if before.get(name) != after[name]}
        if creating or changed:
            record(
                Action.DEVICE_TYPE_CREATED if creating else Action.DEVICE_TYPE_CHANGED,
                origin=origin,
                outcome=Outcome.OK,
                target_kind="device_type",
                target_id=str(device_type.pk),
                asked=after if creating else changed,
                summary=f"Device type {device_type.name}",
                team=team_ref(team),
            )
        if codec is None or checked is None:
            return None
        return _codec_version_add(device_type, codec, checked, origin, uploaded_by)


def _codec_version_add(
    device_type: DeviceType,
    codec: CodecUpload,
    checked: tuple[int, bool],
    origin: Origin,
    uploaded_by: AbstractBaseUser | None,
) -> CodecVersion:
    """The next version (the device type's row is locked by the caller's transaction when it
    existed; the unique constraint catches two first uploads at once). The same file as the
    newest version (a form sent twice) is that version, not a new one."""
    digest = CodecVersion.digest(codec.source)
    newest_version = device_type.current_codec()
    if newest_version is not None and newest_version.sha256 == digest:
        return newest_version
    newest = newest_version.number if newest_version else 0
    examples_run, has_decoder = checked
    version = CodecVersion.objects.create(
        device_type=device_type,
        number=newest + 1,
        source=codec.source,
        examples=codec.examples,
        examples_run=examples_run,
        has_decoder=has_decoder,
        sha256=digest,
        uploaded_by_id=uploaded_by.pk if uploaded_by is not None else None,
    )
    record(
        Action.CODEC_UPLOADED,
        origin=origin,
        outcome=Outcome.OK,
        target_kind="device_type",
        target_id=str(device_type.pk),
        asked={
            "version": version.number,
            "sha256": version.sha256,
            "examples_passed": examples_run,
            "decoder": has_decoder,
        },
        summary=f"{device_type.name} codec version {version.number}",
        team=team_ref(device_type.team),
    )
    return version


# --- Devices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceValues:
    """A device as a form or a CSV row gives it, checked: the id in an API format, the kind
    settled, the type one of the team's."""

    device_id: str
    kind: str
    label: str = ""
    device_type: DeviceType | None = None
    tags: tuple[str, ...] = field(default=())


def _tags(team: Team, names: Iterable[str]) -> list[DeviceTag]:
    wanted = sorted(set(names))
    existing = {tag.name: tag for tag in DeviceTag.objects.filter(team=team, name__in=wanted)}
    for name in wanted:
        if name not in existing:
            existing[name], _ = DeviceTag.objects.get_or_create(team=team, name=name)
    return [existing[name] for name in wanted]


def _device_summary(values: DeviceValues) -> dict[str, Any]:
    return {
        "kind": values.kind,
        "label": values.label,
        "device_type": values.device_type.name if values.device_type else "",
        "tags": list(values.tags),
    }


def _duplicate(team: Team, values: DeviceValues, exclude: int | None) -> Device | None:
    return (
        Device.objects.filter(team=team, kind=values.kind, key=same_device_key(values.device_id))
        .exclude(pk__in=[exclude] if exclude is not None else [])
        .first()
    )


def device_save(
    *, team: Team, values: DeviceValues, origin: Origin, device: Device | None = None
) -> Device:
    """Add a device (or change `device`). Raises DeviceRuleError for an id listed already."""
    with transaction.atomic():
        other = _duplicate(team, values, device.pk if device else None)
        if other is not None:
            raise DeviceRuleError(
                f"{other.device_id} is listed already"
                + (f" as {other.label!r}." if other.label else ".")
            )
        adding = device is None
        target = device or Device(team=team)
        target.kind = values.kind
        target.device_id = values.device_id
        target.key = same_device_key(values.device_id)
        target.label = values.label
        target.device_type = values.device_type
        try:
            with transaction.atomic():
                target.save()
        except IntegrityError:  # added by someone else in the meantime
            raise DeviceRuleError(f"{values.device_id} is listed already.") from None
        target.tags.set(_tags(team, values.tags))
        record(
            Action.DEVICE_ADDED if adding else Action.DEVICE_CHANGED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="device",
            target_id=values.device_id,
            device_id=values.device_id,
            asked=_device_summary(values),
            team=team_ref(team),
        )
    return target


def device_remove(*, device: Device, origin: Origin) -> None:
    """Take the device off the list (its downlinks and their history stay)."""
    with transaction.atomic():
        device.delete()
        record(
            Action.DEVICE_REMOVED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="device",
            target_id=device.device_id,
            device_id=device.device_id,
            asked={"label": device.label},
            team=team_ref(device.team),
        )


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int


def devices_import(*, team: Team, rows: Sequence[DeviceValues], origin: Origin) -> ImportResult:
    """Every row added, or changed where the team lists its id already: all in one
    transaction and one audit entry (the rows were checked as a whole before)."""
    with transaction.atomic():
        keys = {(values.kind, same_device_key(values.device_id)) for values in rows}
        existing = {
            (device.kind, device.key): device
            for device in Device.objects.filter(
                team=team, key__in={key for _, key in keys}
            ).select_for_update()
        }
        tags = {tag.name: tag for tag in _tags(team, {t for values in rows for t in values.tags})}
        added = updated = 0
        for values in rows:
            key = same_device_key(values.device_id)
            device = existing.get((values.kind, key))
            if device is None:
                device = Device(team=team, kind=values.kind, key=key)
                added += 1
            else:
                updated += 1
            device.device_id = values.device_id
            device.label = values.label
            device.device_type = values.device_type
            device.save()
            device.tags.set([tags[name] for name in values.tags])
        record(
            Action.DEVICES_IMPORTED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="team",
            target_id=team.slug,
            asked={"rows": len(rows), "added": added, "updated": updated},
            summary=f"{added} added, {updated} updated from a CSV file",
            team=team_ref(team),
        )
    return ImportResult(added, updated)
