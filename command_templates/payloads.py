"""A template version and its parameter values made into what is sent: bytes and an fPort
(LoRa), or a text or bytes and a topic (MQTT), with the codec version that made them and its
warnings. What cannot be made is a `PayloadNotMade` in words; nothing is sent then."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from command_templates.models import TemplateVersion
from devices.codecs import sandbox
from devices.models import CodecVersion, DeviceType, Kind
from payload_codecs.layout import LayoutError, fill_text, pack
from payload_codecs.sandbox import CodecFailed


class PayloadNotMade(Exception):
    """The message says why, in words."""


@dataclass(frozen=True)
class Made:
    kind: str
    payload: bytes
    text: str | None = None  # MQTT text (its UTF-8 bytes are `payload`)
    f_port: int | None = None
    topic: str | None = None
    warnings: tuple[str, ...] = ()
    codec_version: CodecVersion | None = None
    decoded: Any = None  # the bytes decoded back by the codec, where it can
    decode_problem: str = ""

    @property
    def hex(self) -> str:
        return self.payload.hex()

    @property
    def base64(self) -> str:
        return base64.b64encode(self.payload).decode()


def make_payload(
    version: TemplateVersion,
    values: dict[str, Any],
    *,
    device_type: DeviceType | None,
    codec_version: CodecVersion | None = None,
    decode_back: bool = True,
) -> Made:
    """Run the version's way of making the payload on `values` (checked by its form).
    `codec_version`: the device type's current codec unless given."""
    definition = version.parsed
    payload_way = definition.payload
    send = definition.send
    kind = version.template.kind
    f_port = (
        send.f_port if send.f_port is not None else getattr(device_type, "default_f_port", None)
    )
    topic = send.topic or getattr(device_type, "default_topic", "") or None
    if payload_way.codec is not None:
        codec = codec_version or (device_type.current_codec() if device_type else None)
        if codec is None:
            raise PayloadNotMade("The device type has no codec any more; nothing can be made.")
        data = {**payload_way.codec, **values}
        try:
            encoded = sandbox().encode(codec.source, data)
        except CodecFailed as failed:
            raise PayloadNotMade(str(failed)) from None
        if kind == Kind.LORA:
            f_port = send.f_port or encoded.f_port or f_port
            if f_port is None:
                raise PayloadNotMade("The codec gave no fPort and the template names none.")
        decoded, problem = None, ""
        if decode_back and codec.has_decoder:
            try:
                decoded = sandbox().decode(codec.source, encoded.payload, f_port).data
            except CodecFailed as failed:
                problem = str(failed)
        return Made(
            kind=kind,
            payload=encoded.payload,
            f_port=f_port if kind == Kind.LORA else None,
            topic=topic if kind == Kind.MQTT else None,
            warnings=encoded.warnings,
            codec_version=codec,
            decoded=decoded,
            decode_problem=problem,
        )
    try:
        if payload_way.layout is not None:
            payload = pack(payload_way.layout_parts(), values)
            return Made(
                kind=kind,
                payload=payload,
                f_port=f_port if kind == Kind.LORA else None,
                topic=topic if kind == Kind.MQTT else None,
            )
        text = fill_text(payload_way.text or "", values, as_json=payload_way.json_)
    except LayoutError as error:
        raise PayloadNotMade(str(error)) from None
    return Made(kind=kind, payload=text.encode(), text=text, topic=topic)
