"""The form fields a template's parameters become: each type checked as the send forms check
theirs, with the message in words at the field. A parameter `x` is the field `param_x`, so
no parameter can take the name of one of the send form's own fields."""

from __future__ import annotations

import re
from typing import Any, Final

from django import forms
from django.core.validators import RegexValidator

from command_templates.definition import Definition, Parameter

PREFIX: Final = "param_"
_DURATION_PART = re.compile(
    r"(\d+)\s*(days?|hours?|minutes?|mins?|seconds?|secs?|d|h|m|s)\b", re.IGNORECASE
)
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def duration_seconds(text: str) -> int:
    """ "90 s", "15 min", "1 h 30 m", "2 days" or a bare number of seconds; ValueError else."""
    value = text.strip().lower()
    if value.isdigit():
        return int(value)
    parts = list(_DURATION_PART.finditer(value))
    if not parts or _DURATION_PART.sub("", value).strip(" ,"):
        raise ValueError(text)
    return sum(int(part.group(1)) * _SECONDS[part.group(2)[0].lower()] for part in parts)


def _words(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


class DurationField(forms.CharField):
    def __init__(self, *, minimum: float | None, maximum: float | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            seconds = duration_seconds(text)
        except ValueError:
            raise forms.ValidationError(
                f"“{text}” is not a duration: write it like 90 s, 15 min, 1 h 30 m or 2 days."
            ) from None
        if self.minimum is not None and seconds < self.minimum:
            raise forms.ValidationError(f"At least {_words(self.minimum)} seconds.")
        if self.maximum is not None and seconds > self.maximum:
            raise forms.ValidationError(f"At most {_words(self.maximum)} seconds.")
        return seconds


class HexField(forms.CharField):
    def __init__(self, *, byte_count: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.byte_count = byte_count

    def clean(self, value: Any) -> str | None:
        text = re.sub(r"[\s:-]", "", super().clean(value) or "")
        if not text:
            return None
        if not re.fullmatch(r"[0-9a-fA-F]*", text):
            raise forms.ValidationError("Hex uses only the digits 0-9 and the letters a-f.")
        if len(text) % 2:
            raise forms.ValidationError("Hex has two digits per byte; one digit is missing.")
        if self.byte_count is not None and len(text) != 2 * self.byte_count:
            raise forms.ValidationError(
                f"{self.byte_count} byte{'s' if self.byte_count > 1 else ''} "
                f"({2 * self.byte_count} hex digits); this is {len(text) // 2}."
            )
        return text.lower()


def _help(parameter: Parameter) -> str:
    said = [parameter.help] if parameter.help else []
    if parameter.type in ("integer", "number") and (
        parameter.min is not None or parameter.max is not None
    ):
        low = _words(parameter.min) if parameter.min is not None else "any"
        high = _words(parameter.max) if parameter.max is not None else "any"
        said.append(f"From {low} to {high}{f' {parameter.unit}' if parameter.unit else ''}.")
    elif parameter.unit:
        said.append(f"In {parameter.unit}.")
    if parameter.type == "duration":
        said.append("Like 90 s, 15 min or 1 h 30 m.")
    return " ".join(said)


def parameter_field(parameter: Parameter) -> forms.Field:
    common: dict[str, Any] = {
        "label": parameter.shown_label,
        "help_text": _help(parameter),
        "required": parameter.required and parameter.type != "boolean",
        "initial": parameter.default,
    }
    low, high = parameter.min, parameter.max
    match parameter.type:
        case "integer":
            return forms.IntegerField(
                min_value=int(low) if low is not None else None,
                max_value=int(high) if high is not None else None,
                **common,
            )
        case "number":
            return forms.FloatField(min_value=low, max_value=high, **common)
        case "boolean":
            return forms.BooleanField(**common)
        case "choice":
            by_text = {str(choice.value): choice.value for choice in parameter.choices}
            return forms.TypedChoiceField(
                choices=[("", "Choose…")] * (parameter.default is None)
                + [(str(choice.value), choice.label) for choice in parameter.choices],
                coerce=lambda text: by_text[text],
                **common,
            )
        case "text":
            validators = []
            if parameter.pattern:
                validators.append(
                    RegexValidator(
                        f"^(?:{parameter.pattern})$",
                        f"Must match the pattern {parameter.pattern}.",
                    )
                )
            return forms.CharField(
                min_length=parameter.min_length,
                max_length=parameter.max_length or 1000,
                validators=validators,
                strip=False,
                **common,
            )
        case "hex":
            return HexField(byte_count=parameter.bytes, **common)
        case _:  # duration
            return DurationField(minimum=low, maximum=high, **common)


def parameter_fields(definition: Definition) -> dict[str, forms.Field]:
    return {f"{PREFIX}{p.name}": parameter_field(p) for p in definition.parameters}


def parameter_initial(values: dict[str, Any]) -> dict[str, Any]:
    """Values by the parameters' names (a downlink's, for clone) as the form's initial data."""
    return {f"{PREFIX}{name}": value for name, value in values.items()}


def parameter_values(definition: Definition, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The parameters' values by their own names (those left empty left out)."""
    values = {p.name: cleaned.get(f"{PREFIX}{p.name}") for p in definition.parameters}
    return {name: value for name, value in values.items() if value is not None and value != ""}
