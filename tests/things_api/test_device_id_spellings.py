"""The spellings of one device id (the API matches deviceId exactly, so a search asks each),
the device ids a bare EUI or IMEI stands for, and what is wrong with a device id in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from things_api import (
    device_id_format,
    device_id_problem,
    equivalent_device_ids,
    same_device_key,
    suggest_device_ids,
)

HEX = "0123456789abcdef"


def any_case(text: str) -> st.SearchStrategy[str]:
    """`text` with each letter in either case."""
    return st.tuples(*[st.sampled_from(sorted({char.lower(), char.upper()})) for char in text]).map(
        "".join
    )


@st.composite
def device_keys(draw: st.DrawFn) -> tuple[str, str]:
    """A device: its kind (imei, deveui, dvnuuid or uuid) and its digits, in lower case."""
    kind = draw(st.sampled_from(["imei", "deveui", "dvnuuid", "uuid"]))
    if kind == "imei":
        return kind, draw(st.from_regex(r"[0-9]{15,16}", fullmatch=True))
    if kind == "deveui":
        return kind, draw(st.text(alphabet=HEX, min_size=16, max_size=16))
    return kind, str(draw(st.uuids()))


@st.composite
def spelled(draw: st.DrawFn, kind: str, body: str) -> str:
    """One spelling of the device in any of the formats of its kind: any case, short or URN,
    with or without the URN's trailing colon."""
    if kind == "uuid":
        return draw(any_case(body))
    short = f"{draw(any_case(kind))}:{draw(any_case(body))}"
    if not draw(st.booleans()):
        return short
    return f"{draw(any_case('urn:dev:'))}{short}{draw(st.sampled_from(['', ':']))}"


@st.composite
def devices(draw: st.DrawFn) -> tuple[str, str]:
    """A device's key (as `same_device_key` writes it) and one spelling of it."""
    kind, body = draw(device_keys())
    return (body if kind == "uuid" else f"{kind}:{body}"), draw(spelled(kind, body))


@given(devices())
def test_every_spelling_is_a_device_id_of_the_same_device(device: tuple[str, str]) -> None:
    key, spelled = device
    spellings = equivalent_device_ids(spelled)
    assert spellings[0] == spelled
    assert len(set(spellings)) == len(spellings)
    assert len(spellings) <= 15
    for spelling in spellings:
        assert device_id_format(spelling) is not None, spelling
        assert same_device_key(spelling) == key, spelling


@given(device_keys(), st.data())
def test_two_spellings_of_one_device_ask_for_the_same_spellings(
    device: tuple[str, str], data: st.DataObject
) -> None:
    first, second = data.draw(spelled(*device)), data.draw(spelled(*device))
    mine, theirs = set(equivalent_device_ids(first)), set(equivalent_device_ids(second))
    assert mine - {first, second} == theirs - {first, second}


@given(devices(), devices())
def test_different_devices_share_no_spelling(first: tuple[str, str], second: tuple[str, str]):
    if first[0] != second[0]:
        assert not set(equivalent_device_ids(first[1])) & set(equivalent_device_ids(second[1]))


# Every spelling asked for a DevEUI: short and URN (with and without the colon), the kind in
# lower case and capitals (DevEUI too, in the short form), the hex in lower case and capitals.
DEVEUI_SPELLINGS = {
    f"{prefix}{digits}{end}"
    for digits in ("0004a30b001c0534", "0004A30B001C0534")
    for prefix, ends in [
        ("deveui:", [""]),
        ("DEVEUI:", [""]),
        ("DevEUI:", [""]),
        ("urn:dev:deveui:", ["", ":"]),
        ("urn:dev:DEVEUI:", ["", ":"]),
    ]
    for end in ends
}


@pytest.mark.parametrize(
    "typed",
    [
        "deveui:0004a30b001c0534",
        "DEVEUI:0004A30B001C0534",
        "urn:dev:DEVEUI:0004A30B001C0534:",
        "DevEui:0004A30b001C0534",  # an odd spelling: asked as typed, too
        "URN:DEV:deveui:0004a30b001c0534",
    ],
)
def test_the_usual_spellings_of_a_deveui_are_asked_for(typed: str) -> None:
    assert len(DEVEUI_SPELLINGS) == 14
    assert set(equivalent_device_ids(typed)) == DEVEUI_SPELLINGS | {typed}


@pytest.mark.parametrize(
    ("typed", "count"),
    [
        ("imei:350266800610993", 6),  # imei, IMEI; urn:dev: with both, with and without colon
        ("IMEI:350266800610993", 6),
        ("Imei:350266800610993", 7),  # and the odd spelling as typed
        ("dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f", 12),
        ("478a82d4-128f-47a6-aa61-2eac3f2a23ad", 2),  # lower and upper hex
        ("478a82d4-128F-47a6-aa61-2eac3f2a23ad", 3),
        ("00000000-0000-0000-0000-000000000000", 1),  # no letter to change the case of
    ],
)
def test_how_many_spellings_each_format_asks_for(typed: str, count: int) -> None:
    assert len(equivalent_device_ids(typed)) == count


@pytest.mark.parametrize("text", ["", "sensor-17", "0004a30b001c0534", "imei:123", "urn:dev:x"])
def test_only_device_ids_have_spellings(text: str) -> None:
    with pytest.raises(ValueError, match="not a device id"):
        equivalent_device_ids(text)


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("0004a30b001c0534", ("deveui:0004a30b001c0534",)),
        ("0004A30B001C0534", ("deveui:0004A30B001C0534",)),
        (" 0004a30b001c0534 ", ("deveui:0004a30b001c0534",)),
        ("00-04-A3-0B-00-1C-05-34", ("deveui:0004A30B001C0534",)),
        ("00:04:a3:0b:00:1c:05:34", ("deveui:0004a30b001c0534",)),
        ("350266800610993", ("imei:350266800610993",)),
        ("3502668006109931", ("deveui:3502668006109931", "imei:3502668006109931")),
        ("00-04:a3-0b-00-1c-05-34", ()),  # mixed separators: not how an EUI is printed
        ("0004a30b001c053", ()),  # 15 hex digits, not all decimal
        ("0004a30b001c05345", ()),
        ("35026680061099", ()),
        ("deveui:0004a30b001c0534", ()),  # already a device id
        ("sensor-17", ()),
        ("", ()),
    ],
)
def test_a_bare_eui_or_imei_suggests_the_device_id_it_means(
    text: str, meant: tuple[str, ...]
) -> None:
    assert suggest_device_ids(text) == meant


@given(st.text(alphabet=HEX + HEX.upper(), min_size=16, max_size=16))
def test_every_bare_eui_suggests_a_deveui_of_those_digits(digits: str) -> None:
    (first, *rest) = suggest_device_ids(digits)
    assert first == f"deveui:{digits}"
    for meant in (first, *rest):
        assert device_id_format(meant) is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("deveui:0004a30b001c0534", None),
        ("0004a30b001c0534", "A device id starts with its kind, such as deveui: or imei:."),
        ("350266800610993", "A device id starts with its kind, such as deveui: or imei:."),
        ("imei:123", "After imei: come 15 or 16 digits."),
        ("DevEUI:xyz", "After DevEUI: come 16 hexadecimal characters (0-9, a-f)."),
        (
            "urn:dev:dvnuuid:1234",
            "After urn:dev:dvnuuid: come a UUID (8-4-4-4-12 hexadecimal characters).",
        ),
        ("sensor-17", "Use imei:…, deveui:…, dvnuuid:… (each also as urn:dev:…) or a UUID."),
    ],
)
def test_what_is_wrong_with_a_device_id_is_one_short_sentence(
    text: str, problem: str | None
) -> None:
    assert device_id_problem(text) == problem
    if problem is not None:
        assert len(problem) < 80
