"""Byte layouts and text placeholders, checked against Python's struct module and json (an
independent way of writing the same bytes and text)."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payload_codecs.layout import (
    NUMBER_TYPES,
    BitField,
    Bits,
    FixedBytes,
    LayoutError,
    Number,
    Part,
    fill_text,
    pack,
)

STRUCT_CODES = {"u8": "B", "u16": "H", "u32": "I", "i8": "b", "i16": "h", "i32": "i"}


@pytest.mark.parametrize("type_name", sorted(NUMBER_TYPES))
@pytest.mark.parametrize("endian", ["big", "little"])
@given(data=st.data())
def test_every_number_type_packs_as_struct_does(
    type_name: str, endian: str, data: st.DataObject
) -> None:
    size, signed = NUMBER_TYPES[type_name]
    low, high = (
        (-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1) if signed else (0, 2 ** (8 * size) - 1)
    )
    value = data.draw(st.integers(low, high))
    layout: list[Part] = [FixedBytes(b"\x01"), Number("v", type_name, endian)]  # type: ignore[arg-type]
    expected = b"\x01" + struct.pack(
        (">" if endian == "big" else "<") + STRUCT_CODES[type_name], value
    )
    assert pack(layout, {"v": value}) == expected


@pytest.mark.parametrize(
    ("type_name", "value", "said"),
    [
        ("u8", 256, "v is 256; as u8 it must be from 0 to 255."),
        ("u8", -1, "v is -1; as u8 it must be from 0 to 255."),
        ("i16", 32768, "v is 32768; as i16 it must be from -32768 to 32767."),
        ("u16", 1.5, "v is 1.5; the layout takes a whole number there."),
        ("u16", "7", "v is '7'; the layout takes a whole number there."),
    ],
)
def test_a_value_that_does_not_fit_is_said(type_name: str, value: object, said: str) -> None:
    with pytest.raises(LayoutError) as refused:
        pack([Number("v", type_name)], {"v": value})
    assert str(refused.value) == said


@given(a=st.integers(0, 7), b=st.booleans(), c=st.integers(0, 15))
def test_bit_fields_fill_a_byte_from_the_highest_bit(a: int, b: bool, c: int) -> None:
    layout = [Bits((BitField("a", 3), BitField("b", 1), BitField("c", 4)))]
    assert pack(layout, {"a": a, "b": b, "c": c}) == bytes([(a << 5) | (int(b) << 4) | c])


def test_a_bit_field_that_overflows_is_said() -> None:
    with pytest.raises(LayoutError) as refused:
        pack([Bits((BitField("a", 3),))], {"a": 8})
    assert str(refused.value) == "a is 8; in 3 bits it must be from 0 to 7."


@given(text=st.text(max_size=40), number=st.integers(-(10**9), 10**9), flag=st.booleans())
def test_json_text_escapes_what_it_fills_in(text: str, number: int, flag: bool) -> None:
    template = '{"note": "{{note}}", "n": {{n}}, "on": {{on}}}'
    filled = fill_text(template, {"note": text, "n": number, "on": flag}, as_json=True)
    assert json.loads(filled) == {"note": text, "n": number, "on": flag}


def test_plain_text_is_filled_in_as_written() -> None:
    assert fill_text("set {{ key }}={{value}}", {"key": 'a"b', "value": 3}, as_json=False) == (
        'set a"b=3'
    )


def test_json_text_that_the_values_break_is_refused() -> None:
    with pytest.raises(LayoutError, match="not valid JSON"):
        fill_text('{"n": {{n}}}', {"n": "x"}, as_json=True)


def test_a_value_left_out_is_said_by_a_layout_and_empty_in_a_text() -> None:
    with pytest.raises(LayoutError) as refused:
        pack([Number("v", "u8")], {})
    assert str(refused.value) == "v has no value; the layout needs one."
    assert fill_text('{"note": "{{note}}"}', {}, as_json=True) == '{"note": ""}'
