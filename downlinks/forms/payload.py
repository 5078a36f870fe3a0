"""Payloads as people enter them (hex, base64 or text), turned into bytes, or refused in
words that say what is wrong. The alphabets and the base64 rule are the API package's."""

from __future__ import annotations

import base64
import re

from django.core.exceptions import ValidationError

from things_api import BASE64_ALPHABET, HEX_DIGITS, is_base64

HEX_SEPARATORS = re.compile(r"[\s:]+")


class PayloadFormat:
    HEX = "hex"
    BASE64 = "base64"
    TEXT = "text"
    CHOICES = ((HEX, "Hex"), (BASE64, "Base64"), (TEXT, "Text (UTF-8)"))


def payload_bytes(value: str, payload_format: str, *, allow_empty: bool = False) -> bytes:
    """The bytes a payload field means, or a ValidationError that says why not, in words.

    Hex or base64 with nothing in it (only separators, a bare "0x") is refused, unless
    `allow_empty`: then it is no bytes, as empty text is."""
    if payload_format == PayloadFormat.TEXT:
        return value.encode("utf-8")
    if payload_format == PayloadFormat.BASE64:
        return _base64_bytes(value, allow_empty=allow_empty)
    return _hex_bytes(value, allow_empty=allow_empty)


def _base64_bytes(value: str, *, allow_empty: bool) -> bytes:
    compact = "".join(value.split())
    if not compact:
        if allow_empty:
            return b""
        raise ValidationError("Enter the payload.")
    if not is_base64(compact):
        raise ValidationError(_why_not_base64(compact))
    return base64.b64decode(compact, validate=True)


def _why_not_base64(compact: str) -> str:
    digits = compact.rstrip("=")
    if not set(digits) <= set(BASE64_ALPHABET) or len(compact) - len(digits) > 2:
        return (
            "This is not valid base64: use only A-Z, a-z, 0-9, + and /, with = as padding "
            "at the end."
        )
    if len(compact) % 4:
        return (
            f"This is not valid base64: its length ({len(compact)}) must be a multiple of "
            "4; is padding (=) missing?"
        )
    return "This is not valid base64: the padding is wrong."


def _hex_bytes(value: str, *, allow_empty: bool) -> bytes:
    compact = HEX_SEPARATORS.sub("", value)
    if compact.lower().startswith("0x"):
        compact = compact[2:]
    if not compact:
        if allow_empty:
            return b""
        raise ValidationError("Enter the payload.")
    bad = sorted({char for char in compact if char not in HEX_DIGITS})
    if bad:
        shown = ", ".join(repr(char) for char in bad[:5])
        raise ValidationError(
            f"Hex uses only the digits 0-9 and the letters a-f; this has {shown}."
        )
    if len(compact) % 2:
        raise ValidationError(
            f"Hex takes two digits per byte, and this has an odd number ({len(compact)}): "
            "is a digit missing?"
        )
    return bytes.fromhex(compact)
