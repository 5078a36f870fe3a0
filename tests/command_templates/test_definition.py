"""Template definitions as an admin writes them: what holds together is read, what does not is
refused with each problem and where it is."""

from __future__ import annotations

import pytest

from command_templates.definition import DefinitionError, read_definition

GOOD = """\
parameters:
  - {name: minutes, type: integer, min: 1, max: 60}
payload:
  layout: [{hex: "01"}, {parameter: minutes, as: u8}]
send: {f_port: 2}
"""


def problems(text: str, kind: str = "lora", **context: object) -> list[str]:
    with pytest.raises(DefinitionError) as refused:
        read_definition(text, kind=kind, **context)  # type: ignore[arg-type]
    return refused.value.problems


def test_a_definition_that_holds_together_is_read() -> None:
    definition = read_definition(GOOD, kind="lora")
    assert [p.name for p in definition.parameters] == ["minutes"]
    assert definition.payload.method == "layout"
    assert definition.send.f_port == 2


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("payload: [1", "The definition is not valid YAML (line 1)."),
        ("- 1", "The definition needs at least payload: (how the payload is made)."),
        (GOOD.replace("integer", "colour"), "parameters[0].type: Input should be 'integer'"),
        (GOOD.replace("min: 1", "min: 70"), "parameters[0]: min is more than max"),
        (GOOD.replace("name: minutes", "name: 2x"), "parameters[0].name: String should match"),
        (GOOD.replace("as: u8", "as: u24"), "payload.layout[1]: as must be one of u8, u16"),
        (GOOD.replace('hex: "01"', 'hex: "0"'), "payload.layout[0].hex: String should match"),
        (GOOD.replace("f_port: 2", "f_port: 0"), "send.f_port: Input should be greater than"),
        (
            GOOD.replace("{f_port: 2}", "{f_port: 2, feedback_timeout: PT5M}"),
            "send: feedback_timeout must be at least PT10M",
        ),
        (
            GOOD.replace("parameter: minutes", "parameter: hours"),
            "payload: hours is not one of the parameters",
        ),
        (
            GOOD.replace("{f_port: 2}", "{}"),
            "send.f_port: say the fPort (the device type names none)",
        ),
        (GOOD + "extra: 1\n", "extra: Extra inputs are not permitted"),
        (
            GOOD.replace("type: integer, min: 1, max: 60", "type: text"),
            "payload.layout: minutes is text; a layout takes whole numbers",
        ),
        ("payload: {codec: {}}\n", "payload.codec: the template's device type has no codec"),
        (
            "payload: {text: hi}\nsend: {f_port: 1}\n",
            "payload.text: text payloads are for MQTT; LoRa takes bytes",
        ),
        ("payload: {}\n", "payload: say how the payload is made: one of codec, layout or text"),
        (
            "parameters: [{name: a, type: choice}]\npayload: {codec: {}}\n",
            "parameters[0]: a choice needs its choices (value and label each)",
        ),
        (
            "parameters: [{name: a, type: text, pattern: '(['}]\npayload: {codec: {}}\n",
            "parameters[0]: the pattern is not a regular expression",
        ),
        (
            "parameters: [{name: a, type: boolean}, {name: a, type: integer}]\n"
            "payload: {codec: {}}\n",
            "parameters: a is named twice",
        ),
    ],
)
def test_what_does_not_hold_together_is_refused_with_where(text: str, said: str) -> None:
    found = problems(text)
    assert any(problem.startswith(said) for problem in found), found


def test_an_mqtt_template_needs_a_topic_from_itself_or_its_device_type() -> None:
    text = "payload: {text: reboot}\n"
    assert problems(text, "mqtt") == ["send.topic: say the topic (the device type names none)"]
    assert read_definition(text, kind="mqtt", default_topic="cmd").payload.text == "reboot"
    assert problems(text + "send: {f_port: 2}\n", "mqtt", default_topic="cmd") == [
        "send.f_port: an fPort is for LoRa; MQTT takes topic"
    ]


def test_on_off_yes_and_no_stay_words_and_true_and_false_are_booleans() -> None:
    text = (
        "parameters:\n"
        "  - name: valve\n"
        "    type: choice\n"
        "    choices: [{value: true, label: On}, {value: false, label: Off}]\n"
        "    help: yes\n"
        "payload: {codec: {}}\n"
    )
    (valve,) = read_definition(text, kind="lora", has_codec=True).parameters
    assert [(choice.value, choice.label) for choice in valve.choices] == [
        (True, "On"),
        (False, "Off"),
    ]
    assert valve.help == "yes"
