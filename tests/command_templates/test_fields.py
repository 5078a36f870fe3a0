"""The form field each parameter type becomes: valid values read as the payload needs them,
invalid ones refused in words."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django import forms

from command_templates.definition import Parameter
from command_templates.fields import duration_seconds, parameter_field


def field(**spec: Any) -> forms.Field:
    return parameter_field(Parameter.model_validate({"name": "p", **spec}))


@pytest.mark.parametrize(
    ("spec", "typed", "value"),
    [
        ({"type": "integer", "min": 1, "max": 10}, "7", 7),
        ({"type": "number", "min": 0, "max": 1}, "0.25", 0.25),
        ({"type": "boolean"}, "on", True),
        ({"type": "boolean"}, "", False),
        ({"type": "choice", "choices": [{"value": 3, "label": "Three"}]}, "3", 3),
        ({"type": "choice", "choices": [{"value": "eco", "label": "Eco"}]}, "eco", "eco"),
        ({"type": "text", "max_length": 5, "pattern": "[a-z]+"}, "abc", "abc"),
        ({"type": "hex", "bytes": 2}, "DE:ad", "dead"),
        ({"type": "duration", "max": 7200}, "1 h 30 m", 5400),
        ({"type": "duration"}, "90", 90),
        ({"type": "duration"}, "2 days", 172800),
    ],
)
def test_a_valid_value_reads_as_the_payload_needs_it(
    spec: dict[str, Any], typed: str, value: Any
) -> None:
    assert field(**spec).clean(typed) == value


@pytest.mark.parametrize(
    ("spec", "typed", "said"),
    [
        ({"type": "integer", "min": 1, "max": 10}, "11", "less than or equal to 10"),
        ({"type": "integer"}, "1.5", "Enter a whole number."),
        ({"type": "number", "min": 0}, "-1", "greater than or equal to 0"),
        (
            {"type": "choice", "choices": [{"value": 3, "label": "Three"}]},
            "4",
            "Select a valid choice",
        ),
        ({"type": "text", "max_length": 5}, "abcdef", "at most 5 characters"),
        ({"type": "text", "pattern": "[a-z]+"}, "ab1", "Must match the pattern [a-z]+."),
        ({"type": "hex", "bytes": 2}, "dead00", "2 bytes (4 hex digits); this is 3."),
        ({"type": "hex"}, "abc", "one digit is missing"),
        ({"type": "hex"}, "zz", "Hex uses only the digits 0-9"),
        ({"type": "duration", "max": 60}, "2 min", "At most 60 seconds."),
        ({"type": "duration"}, "soon", "“soon” is not a duration"),
    ],
)
def test_an_invalid_value_is_refused_in_words(spec: dict[str, Any], typed: str, said: str) -> None:
    with pytest.raises(forms.ValidationError) as refused:
        field(**spec).clean(typed)
    assert any(said in message for message in refused.value.messages), refused.value.messages


def test_units_and_ranges_are_in_the_help_text() -> None:
    assert (
        field(type="integer", min=1, max=1440, unit="minutes").help_text
        == "From 1 to 1440 minutes."
    )


@pytest.mark.parametrize("text", ["", "1 h 30", "h", "3 weeks"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(text)}$"):
        duration_seconds(text)


def test_a_choice_of_booleans_reads_as_booleans() -> None:
    choices = [{"value": True, "label": "Open"}, {"value": False, "label": "Closed"}]
    assert field(type="choice", choices=choices).clean("False") is False
    assert field(type="choice", choices=choices).clean("True") is True
