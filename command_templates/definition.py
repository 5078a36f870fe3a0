"""What a command template says, written by a team admin in YAML and checked here: its typed
parameters, how the payload is made of them (the device type's codec, a byte layout, or text
with placeholders) and the send options. A definition that does not hold together is refused
with every problem in words, each with where it is (`parameters[2].max`).

The editor's starting point (`command_templates.forms.EXAMPLE_DEFINITION`) is an example.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from payload_codecs.examples import load_yaml
from payload_codecs.layout import (
    NUMBER_TYPES,
    BitField,
    Bits,
    FixedBytes,
    Number,
    Part,
    layout_parameters,
    text_parameters,
)
from things_api import (
    MAX_F_PORT,
    MIN_F_PORT,
    MIN_FEEDBACK_TIMEOUT,
    format_simple_duration,
    parse_simple_duration,
)

PARAMETER_TYPES: Final = ("integer", "number", "boolean", "choice", "text", "hex", "duration")
# Parameter types a byte layout can hold: whole numbers (a duration in seconds, a choice of
# whole numbers, a boolean as 0 or 1).
WHOLE_NUMBER_TYPES: Final = frozenset({"integer", "boolean", "duration", "choice"})
NAME: Final = r"[A-Za-z_][A-Za-z0-9_]{0,49}"


class DefinitionError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    value: bool | int | str
    label: str


class Parameter(_Strict):
    name: Annotated[str, Field(pattern=f"^{NAME}$")]
    label: str = ""
    type: Literal["integer", "number", "boolean", "choice", "text", "hex", "duration"]
    help: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Choice, ...] = ()
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1, le=1000)] | None = None
    pattern: str | None = None
    bytes: Annotated[int, Field(ge=1, le=242)] | None = None
    default: Any = None
    required: bool = True

    @model_validator(mode="after")
    def _holds_together(self) -> Self:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice needs its choices (value and label each)")
        if self.type != "choice" and self.choices:
            raise ValueError(f"choices are for a choice, not for {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is more than max")
        if self.type not in ("integer", "number", "duration") and (
            self.min is not None or self.max is not None
        ):
            raise ValueError(f"min and max are for numbers and durations, not for {self.type}")
        if self.pattern is not None:
            if self.type != "text":
                raise ValueError("a pattern is for text")
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"the pattern is not a regular expression: {error}") from None
        if self.bytes is not None and self.type != "hex":
            raise ValueError("bytes (a length) is for hex")
        return self

    @property
    def shown_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


class FixedPart(_Strict):
    hex: Annotated[str, Field(pattern=r"^([0-9A-Fa-f]{2})+$")]


class NumberPart(_Strict):
    parameter: str
    as_: Annotated[str, Field(alias="as")]
    endian: Literal["big", "little"] = "big"

    @model_validator(mode="after")
    def _known_type(self) -> Self:
        if self.as_ not in NUMBER_TYPES:
            raise ValueError(f"as must be one of {', '.join(NUMBER_TYPES)}")
        return self


class BitPart(_Strict):
    parameter: str
    width: Annotated[int, Field(ge=1, le=32)]


class BitsPart(_Strict):
    bits: tuple[BitPart, ...]
    size: Annotated[int, Field(ge=1, le=4)] = 1

    @model_validator(mode="after")
    def _fits(self) -> Self:
        used = sum(part.width for part in self.bits)
        if used > 8 * self.size:
            raise ValueError(
                f"the bit fields take {used} bits; {self.size} byte(s) hold {8 * self.size}"
            )
        return self


class Payload(_Strict):
    """Exactly one of: the codec (with fixed values merged into input.data), a layout, a text."""

    codec: dict[str, Any] | None = None
    layout: tuple[FixedPart | NumberPart | BitsPart, ...] | None = None
    text: str | None = None
    json_: Annotated[bool, Field(alias="json")] = False

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        ways = [way for way in ("codec", "layout", "text") if getattr(self, way) is not None]
        if len(ways) != 1:
            raise ValueError("say how the payload is made: one of codec, layout or text")
        if self.json_ and self.text is None:
            raise ValueError("json is for a text payload")
        return self

    @property
    def method(self) -> str:
        return (
            "codec" if self.codec is not None else "layout" if self.layout is not None else "text"
        )

    def layout_parts(self) -> list[Part]:
        parts: list[Part] = []
        for part in self.layout or ():
            if isinstance(part, FixedPart):
                parts.append(FixedBytes(bytes.fromhex(part.hex)))
            elif isinstance(part, NumberPart):
                parts.append(Number(part.parameter, part.as_, part.endian))
            else:
                fields = tuple(BitField(bit.parameter, bit.width) for bit in part.bits)
                parts.append(Bits(fields, part.size))
        return parts

    def parameters_read(self) -> list[str]:
        if self.layout is not None:
            return layout_parameters(self.layout_parts())
        if self.text is not None:
            return text_parameters(self.text)
        return []


class SendOptions(_Strict):
    f_port: Annotated[int, Field(ge=MIN_F_PORT, le=MAX_F_PORT)] | None = None
    topic: str | None = None
    retry_limit: Annotated[int, Field(ge=0, le=100)] = 0
    feedback_timeout: str = "PT1H"
    dry_run: bool = False

    @model_validator(mode="after")
    def _timeout(self) -> Self:
        try:
            timeout = parse_simple_duration(self.feedback_timeout)
        except ValueError:
            raise ValueError("feedback_timeout is an ISO 8601 duration such as PT1H") from None
        if timeout < MIN_FEEDBACK_TIMEOUT:
            raise ValueError(
                f"feedback_timeout must be at least {format_simple_duration(MIN_FEEDBACK_TIMEOUT)}"
            )
        return self


class Definition(_Strict):
    parameters: tuple[Parameter, ...] = ()
    payload: Payload
    send: SendOptions = SendOptions()

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def _where(location: tuple[int | str, ...]) -> str:
    where = ""
    for part in location:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part in ("FixedPart", "NumberPart", "BitsPart") or "[" in str(part):
            continue  # pydantic's name for a union member: not a place in the file
        else:
            where += f".{part}" if where else str(part)
    return where


def read_definition(
    text: str,
    *,
    kind: str,
    has_codec: bool = False,
    default_f_port: int | None = None,
    default_topic: str = "",
) -> Definition:
    """The definition in `text` (YAML), checked for a template of `kind` whose device type has
    a codec or not and these defaults; DefinitionError with every problem otherwise."""
    try:
        data = load_yaml(text) if text.strip() else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise DefinitionError([f"The definition is not valid YAML{line}."]) from None
    if not isinstance(data, dict):
        raise DefinitionError(["The definition needs at least payload: (how the payload is made)."])
    try:
        definition = Definition.model_validate(data)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            message = str(detail["msg"]).removeprefix("Value error, ")
            where = _where(tuple(detail["loc"]))
            problems.append(f"{where}: {message}" if where else message)
        raise DefinitionError(list(dict.fromkeys(problems))) from None
    problems = _cross_checks(definition, kind=kind, has_codec=has_codec)
    send = definition.send
    lora_without_port = send.f_port is None and default_f_port is None
    if kind == "lora" and definition.payload.method != "codec" and lora_without_port:
        problems.append("send.f_port: say the fPort (the device type names none)")
    if kind == "mqtt" and not (send.topic or default_topic):
        problems.append("send.topic: say the topic (the device type names none)")
    if problems:
        raise DefinitionError(problems)
    return definition


def _cross_checks(definition: Definition, *, kind: str, has_codec: bool) -> list[str]:
    problems: list[str] = []
    names = [p.name for p in definition.parameters]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"parameters: {name} is named twice")
    payload = definition.payload
    if payload.method == "codec" and not has_codec:
        problems.append("payload.codec: the template's device type has no codec")
    if payload.method == "text" and kind != "mqtt":
        problems.append("payload.text: text payloads are for MQTT; LoRa takes bytes")
    for name in payload.parameters_read():
        parameter = definition.parameter(name)
        if parameter is None:
            problems.append(f"payload: {name} is not one of the parameters")
        elif payload.method == "layout" and parameter.type not in WHOLE_NUMBER_TYPES:
            problems.append(
                f"payload.layout: {name} is {parameter.type}; a layout takes whole numbers"
            )
        elif (
            payload.method == "layout"
            and parameter.type == "choice"
            and not all(isinstance(choice.value, int) for choice in parameter.choices)
        ):
            problems.append(f"payload.layout: the choices of {name} must be whole numbers")
    send = definition.send
    if kind == "lora" and send.topic is not None:
        problems.append("send.topic: a topic is for MQTT; LoRa takes f_port")
    if kind == "mqtt" and send.f_port is not None:
        problems.append("send.f_port: an fPort is for LoRa; MQTT takes topic")
    return problems
