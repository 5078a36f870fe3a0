"""Payloads made without a codec: a declared byte layout (fixed bytes, whole numbers of 8, 16
or 32 bits signed or not in either byte order, bit fields), and text with `{{name}}`
placeholders. Values are checked against what the layout can hold; what does not fit is a
`LayoutError` in words, and nothing is made."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

type Endian = Literal["big", "little"]

# name → (bytes, signed)
NUMBER_TYPES: Final[dict[str, tuple[int, bool]]] = {
    "u8": (1, False),
    "u16": (2, False),
    "u32": (4, False),
    "i8": (1, True),
    "i16": (2, True),
    "i32": (4, True),
}
PLACEHOLDER: Final = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class LayoutError(ValueError):
    """The values do not fit the layout (or the text); the message says which and why."""


@dataclass(frozen=True)
class FixedBytes:
    data: bytes


@dataclass(frozen=True)
class Number:
    parameter: str
    type: str  # a key of NUMBER_TYPES
    endian: Endian = "big"


@dataclass(frozen=True)
class BitField:
    parameter: str
    width: int


@dataclass(frozen=True)
class Bits:
    """Bit fields packed into `size` bytes, the first field in the highest bits; the bits left
    over are zero."""

    fields: tuple[BitField, ...]
    size: int = 1


type Part = FixedBytes | Number | Bits


def _value(values: Mapping[str, Any], parameter: str) -> Any:
    if values.get(parameter) is None:
        raise LayoutError(f"{parameter} has no value; the layout needs one.")
    return values[parameter]


def _whole(parameter: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise LayoutError(f"{parameter} is {value!r}; the layout takes a whole number there.")


def _number_bytes(part: Number, value: Any) -> bytes:
    size, signed = NUMBER_TYPES[part.type]
    number = _whole(part.parameter, value)
    low, high = (
        (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1)
        if signed
        else (0, (1 << (8 * size)) - 1)
    )
    if not low <= number <= high:
        raise LayoutError(
            f"{part.parameter} is {number}; as {part.type} it must be from {low} to {high}."
        )
    return number.to_bytes(size, part.endian, signed=signed)


def _bits_bytes(part: Bits, values: Mapping[str, Any]) -> bytes:
    packed, used = 0, 0
    for field in part.fields:
        number = _whole(field.parameter, _value(values, field.parameter))
        if not 0 <= number < (1 << field.width):
            raise LayoutError(
                f"{field.parameter} is {number}; in {field.width} bit"
                f"{'s' if field.width > 1 else ''} it must be from 0 to {(1 << field.width) - 1}."
            )
        used += field.width
        packed |= number << (8 * part.size - used)
    return packed.to_bytes(part.size, "big")


def layout_parameters(layout: Sequence[Part]) -> list[str]:
    """The parameters a layout reads, in order."""
    names: list[str] = []
    for part in layout:
        if isinstance(part, Number):
            names.append(part.parameter)
        elif isinstance(part, Bits):
            names.extend(field.parameter for field in part.fields)
    return names


def pack(layout: Sequence[Part], values: Mapping[str, Any]) -> bytes:
    """The payload the layout makes of `values` (a parameter it reads that has no value is a
    LayoutError)."""
    out = bytearray()
    for part in layout:
        if isinstance(part, FixedBytes):
            out += part.data
        elif isinstance(part, Number):
            out += _number_bytes(part, _value(values, part.parameter))
        else:
            out += _bits_bytes(part, values)
    return bytes(out)


def text_parameters(text: str) -> list[str]:
    return [match.group(1) for match in PLACEHOLDER.finditer(text)]


def fill_text(text: str, values: Mapping[str, Any], *, as_json: bool) -> str:
    """`text` with each `{{name}}` replaced by its value. With `as_json`, a value goes in as
    JSON would write it inside a string (quotes and backslashes escaped; true/false, numbers as
    written), and the result must be valid JSON. A parameter without a value is left empty."""

    def value_text(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        if isinstance(value, bool):
            return "true" if value else "false"
        if not as_json:
            return str(value)
        if isinstance(value, int | float):
            return json.dumps(value)
        return json.dumps(str(value))[1:-1]

    filled = PLACEHOLDER.sub(value_text, text)
    if as_json:
        try:
            json.loads(filled)
        except json.JSONDecodeError as error:
            raise LayoutError(
                f"With these values the text is not valid JSON ({error.msg}, at character "
                f"{error.pos + 1})."
            ) from None
    return filled
