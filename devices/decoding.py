"""What a downlink's bytes mean, by its device type's decodeDownlink: the codec version that
made them (a templated send records it), else the current codec of the device's type when
the team lists the device. For detail pages ("what did we actually send?")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devices.codecs import sandbox
from devices.models import CodecVersion, Device
from payload_codecs.sandbox import CodecFailed
from teams.models import Team
from things_api import same_device_key


@dataclass(frozen=True)
class Meaning:
    codec: CodecVersion
    data: Any = None
    problem: str = ""


def _listed_codec(team: Team, kind: str, device_id: str) -> CodecVersion | None:
    device = (
        Device.objects.filter(team=team, kind=kind, key=same_device_key(device_id))
        .select_related("device_type")
        .first()
    )
    if device is None or device.device_type is None:
        return None
    return device.device_type.current_codec()


def payload_meaning(
    *,
    team: Team,
    kind: str,
    device_id: str,
    payload: bytes,
    f_port: int | None,
    codec: CodecVersion | None = None,
) -> Meaning | None:
    """The decoded payload, or what went wrong decoding it; None without a decoder."""
    codec = codec or _listed_codec(team, kind, device_id)
    if codec is None or not codec.has_decoder:
        return None
    try:
        return Meaning(codec, data=sandbox().decode(codec.source, payload, f_port).data)
    except CodecFailed as failed:
        return Meaning(codec, problem=str(failed))
