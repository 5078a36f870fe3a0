"""Random form data (hypothesis) for both send forms, their previews and the list filters,
posted by a signed-in operator to the live simulator: whatever comes in, the answer is never
a server error. A valid random input may really be sent; that is fine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.downlinks.conftest import LORA_DEVICE, MQTT_DEVICE, Dashboard, lora_form, mqtt_form

# Text a browser can send: any character but lone surrogates (which cannot be encoded).
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
NUMBERS = st.integers(min_value=-(10**12), max_value=10**12).map(str)
ANYTHING = st.one_of(TEXT, NUMBERS, st.just(""))

DEVICE_IDS = st.one_of(
    st.sampled_from(
        [
            LORA_DEVICE,
            MQTT_DEVICE,
            "478a82d4-128f-47a6-aa61-2eac3f2a23ad",
            "dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f",
            "urn:dev:imei:350266800610993:",
            "IMEI:3502668006109931",
        ]
    ),
    st.from_regex(r"(urn:dev:)?(imei|deveui|dvnuuid):[0-9a-fA-F:\-]{0,40}", fullmatch=True),
    TEXT,
)
PAYLOADS = st.one_of(
    st.binary(max_size=40).map(lambda data: data.hex()),
    st.from_regex(r"[0-9a-fA-F \n:x]{0,30}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9+/=\s]{0,30}", fullmatch=True),
    st.sampled_from(["sim:EVICTED", "sim:STATUS=ODD", "73696d3a45564943544544"]),
    TEXT,
)
SMALL_NUMBERS = st.one_of(st.integers(min_value=-5, max_value=400).map(str), ANYTHING)


def form_data(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, str]]:
    """Any subset of the fields (a missing one is a field left out of the POST)."""
    return st.fixed_dictionaries({}, optional=fields)


def changed_form(
    valid: dict[str, str], fields: dict[str, st.SearchStrategy[str]]
) -> st.SearchStrategy[dict[str, str]]:
    """Either random fields alone, or a valid form with some fields changed or left out (so
    that a good share of the examples is valid, and really sent)."""

    def change(changes: dict[str, str], dropped: frozenset[str]) -> dict[str, str]:
        form = {**valid, **changes}
        return {name: value for name, value in form.items() if name not in dropped}

    one_change = st.one_of(
        *[st.fixed_dictionaries({name: values}) for name, values in fields.items()]
    )
    dropped = st.one_of(st.just(frozenset[str]()), st.sampled_from(sorted(valid)).map(frozenset))
    edited = st.builds(change, st.one_of(st.just({}), one_change), dropped)
    return st.one_of(edited, form_data(fields))


LORA_FORMS = changed_form(
    lora_form(),
    {
        "device_id": DEVICE_IDS,
        "payload_format": st.one_of(st.sampled_from(["hex", "base64", "text"]), ANYTHING),
        "payload": PAYLOADS,
        "f_port": SMALL_NUMBERS,
        "retry_limit": SMALL_NUMBERS,
        "timeout_days": SMALL_NUMBERS,
        "timeout_hours": SMALL_NUMBERS,
        "timeout_minutes": SMALL_NUMBERS,
        "dry_run": st.one_of(st.just("on"), ANYTHING),
    },
)
MQTT_FORMS = changed_form(
    mqtt_form(),
    {
        "device_id": DEVICE_IDS,
        "message_type": st.one_of(st.sampled_from(["text", "binary"]), ANYTHING),
        "payload_format": st.one_of(st.sampled_from(["hex", "base64", "text"]), ANYTHING),
        "payload": PAYLOADS,
        "topic": st.one_of(st.sampled_from(["downlink", "a/b", "a/#", "+"]), TEXT),
        "content_type": ANYTHING,
        "qos": st.one_of(st.sampled_from(["", "AT_MOST_ONCE"]), ANYTHING),
        "timeout_days": SMALL_NUMBERS,
        "timeout_hours": SMALL_NUMBERS,
        "timeout_minutes": SMALL_NUMBERS,
        "dry_run": st.one_of(st.just("on"), ANYTHING),
    },
)
MOMENTS = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M")),
    ANYTHING,
)
FILTERS = form_data(
    {
        "device": DEVICE_IDS,
        "status": st.one_of(st.sampled_from(["", "PENDING", "EXECUTING", "DONE"]), ANYTHING),
        "outcome": st.one_of(
            st.sampled_from(["", "succeeded", "failed", "EVICTED", "FEEDBACK_TIMEOUT"]), ANYTHING
        ),
        "created_since": MOMENTS,
        "created_before": MOMENTS,
        "modified_since": MOMENTS,
        "modified_before": MOMENTS,
        "sort": st.one_of(
            st.sampled_from(
                [
                    "device",
                    "-status",
                    "payload",
                    "-port",
                    "retries",
                    "topic",
                    "-created",
                    "modified",
                ]
            ),
            ANYTHING,
        ),
        "limit": st.one_of(st.sampled_from(["10", "25", "50", "100"]), ANYTHING),
        # The API's cursors, and the portal's own page tokens (of merged and outcome searches).
        "cursor": st.one_of(ANYTHING, st.text(alphabet="p1.eyJAZaz09-_", max_size=80)),
    }
)

RANDOM = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_no_server_error(response: Any, data: dict[str, str]) -> None:
    assert response.status_code < 500, (response.status_code, data)


@pytest.mark.parametrize(("kind", "forms"), [("lora", LORA_FORMS), ("mqtt", MQTT_FORMS)])
@RANDOM
@given(data=st.data())
def test_random_send_forms_never_give_a_server_error(
    dash: Dashboard, kind: str, forms: st.SearchStrategy[dict[str, str]], data: st.DataObject
) -> None:
    form = data.draw(forms)
    assert_no_server_error(dash.operator.post(dash.url("send_preview", kind), form), form)
    response = dash.operator.post(dash.url("send", kind), form)
    event(f"send answered {response.status_code}")  # --hypothesis-show-statistics
    assert_no_server_error(response, form)


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
@RANDOM
@given(query=FILTERS)
def test_random_list_filters_never_give_a_server_error(
    dash: Dashboard, kind: str, query: dict[str, str]
) -> None:
    response = dash.viewer.get(dash.url("list", kind), query)
    event(f"list answered {response.status_code}")
    assert_no_server_error(response, query)
    htmx = dash.viewer.get(dash.url("list", kind), query, headers={"HX-Request": "true"})
    assert_no_server_error(htmx, query)
