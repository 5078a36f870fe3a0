"""The forms take their rules from the API package: whatever a send form accepts, the API's
create models accept too, and whatever they refuse, the form refuses (in its own words, on
its field, before anything is sent). The list filter offers the API's statuses.

No simulator and no database: the forms on their own, against `things_api`'s models.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from downlinks.forms import DownlinkFilterForm, LoraSendForm, MqttSendForm
from downlinks.forms.filters import SuggestingTextInput
from tests.downlinks.conftest import LORA_DEVICE, lora_form, mqtt_form
from things_api import (
    KNOWN_STATUSES,
    FeedbackTimeout,
    NewLoraDownlink,
    NewLoraMessage,
    NewMqttBinaryMessage,
)


def accepts(model: type[BaseModel], **fields: Any) -> bool:
    return accepts_value(TypeAdapter(model), fields)


def accepts_value(adapter: TypeAdapter[Any], value: object) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def test_the_fport_range_is_the_apis() -> None:
    for f_port in range(-2, 260):
        form = LoraSendForm(lora_form(f_port=str(f_port)))
        api = accepts(NewLoraMessage, payload_hex="01", f_port=f_port)
        assert form.is_valid() == api, (f_port, form.errors)
    assert LoraSendForm(lora_form(f_port="1")).is_valid()
    assert not LoraSendForm(lora_form(f_port="0")).is_valid()


def test_a_negative_retry_limit_is_refused_as_the_api_does() -> None:
    for retry_limit in range(-3, 4):
        form = LoraSendForm(lora_form(retry_limit=str(retry_limit)))
        api = accepts(
            NewLoraDownlink,
            device_id=LORA_DEVICE,
            message={"payload_hex": "01", "f_port": 1},
            feedback_timeout="PT1H",
            retry_limit=retry_limit,
        )
        assert form.is_valid() == api, (retry_limit, form.errors)


def test_the_shortest_feedback_timeout_is_the_apis() -> None:
    api_timeout = TypeAdapter(FeedbackTimeout)
    for send_form, form_data in ((LoraSendForm, lora_form), (MqttSendForm, mqtt_form)):
        for minutes in range(0, 21):
            form = send_form(form_data(timeout_hours="0", timeout_minutes=str(minutes)))
            api = accepts_value(api_timeout, f"PT{minutes}M")
            assert form.is_valid() == api, (send_form.__name__, minutes, form.errors)
            if not api:
                assert "timeout_minutes" in form.errors


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEFgGz+-", max_size=12))
def test_a_hex_payload_is_accepted_when_the_api_takes_it(payload: str) -> None:
    form = LoraSendForm(lora_form(payload_format="hex", payload=payload))
    api = accepts(NewLoraMessage, payload_hex=payload, f_port=1)
    assert form.is_valid() == api, form.errors
    if api:
        assert form.cleaned_data["payload_bytes"] == bytes.fromhex(payload)
    else:
        assert "payload" in form.errors


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ABCQxyz019+/=-_.", min_size=1, max_size=12))
def test_a_base64_payload_is_accepted_when_the_api_takes_it(payload: str) -> None:
    api = accepts(NewMqttBinaryMessage, payload=payload, topic="t")
    forms: list[LoraSendForm | MqttSendForm] = [
        LoraSendForm(lora_form(payload_format="base64", payload=payload)),
        MqttSendForm(mqtt_form(message_type="binary", payload_format="base64", payload=payload)),
    ]
    for form in forms:
        assert form.is_valid() == api, (type(form).__name__, form.errors)
        if not api:
            assert "payload" in form.errors


def test_the_status_filter_offers_the_apis_statuses() -> None:
    choices = DownlinkFilterForm(kind="lora").fields["status"].choices  # type: ignore[attr-defined]
    assert {value for value, _ in choices if value} == KNOWN_STATUSES
    widget = DownlinkFilterForm(kind="mqtt").fields["status"].widget
    assert isinstance(widget, SuggestingTextInput)
    assert set(widget.suggestions) == KNOWN_STATUSES
    for kind in ("lora", "mqtt"):
        for status in KNOWN_STATUSES:
            form = DownlinkFilterForm({"status": status}, kind=kind)
            assert form.is_valid(), form.errors
            assert form.search_filters().status == status
    # LoRa's status filter is an enum in its spec; MQTT's is open, and passed on as it is.
    assert not DownlinkFilterForm({"status": "LOST"}, kind="lora").is_valid()
    form = DownlinkFilterForm({"status": "LOST"}, kind="mqtt")
    assert form.is_valid(), form.errors
    assert form.search_filters().status == "LOST"
