"""Every request ThingsClient can send conforms to the OpenAPI spec of the API it is sent to.

The requests are captured at the HTTP transport and validated with openapi-core. The two specs
reuse the same operationIds, so each is loaded as its own OpenAPI object; their `servers` name
only the production host, so they are pointed at the test base URL first.
"""

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.exceptions import OpenAPIError
from werkzeug.test import EnvironBuilder

from things_api import (
    NewLoraDownlink,
    NewLoraMessage,
    NewMqttBinaryMessage,
    NewMqttDownlink,
    NewMqttTextMessage,
    SearchFilters,
    SortField,
    StaticBearerToken,
    ThingsClient,
)

BASE_URL = "https://api.things.test"
SPECS = Path(__file__).resolve().parents[2] / "specs"
DOWNLINK_ID = "12345678-1234-1234-1234-123456789012"
UUID_TEXT = "478a82d4-128f-47a6-aa61-2eac3f2a23ad"
DEVICE_IDS = [
    UUID_TEXT,
    UUID_TEXT.upper(),
    "imei:350266800610993",
    "IMEI:3502668006109931",
    "deveui:ea8fa35e2cf3489f",
    f"dvnuuid:{UUID_TEXT}",
    "urn:dev:imei:350266800610993",
    "urn:dev:deveui:EA8FA35E2CF3489F:",
    f"urn:dev:dvnuuid:{UUID_TEXT}:",
]
MOMENT = datetime(2025, 4, 1, 12, 30, 15, 250000, tzinfo=UTC)


def load_spec(name: str) -> OpenAPI:
    spec = json.loads((SPECS / name).read_text())
    spec["servers"] = [{"url": BASE_URL}]
    return OpenAPI.from_dict(spec)


LORA_SPEC = load_spec("things-lora-downlinks.openapi.json")
MQTT_SPEC = load_spec("things-mqtt-downlinks.openapi.json")


def as_openapi_request(request: httpx.Request) -> WerkzeugOpenAPIRequest:
    """openapi-core has no httpx integration: go through a werkzeug Request."""
    environ = EnvironBuilder(
        method=request.method,
        base_url=f"{request.url.scheme}://{request.url.netloc.decode()}",
        path=request.url.path,
        query_string=request.url.query.decode(),
        headers=list(request.headers.multi_items()),
        data=request.content,
    )
    return WerkzeugOpenAPIRequest(environ.get_request())


def downlink_answer(request: httpx.Request) -> dict[str, Any]:
    common = {
        "id": DOWNLINK_ID,
        "status": "PENDING",
        "deviceId": UUID_TEXT,
        "createdAt": "2025-04-01T00:00:00.000Z",
        "modifiedAt": "2025-04-01T00:00:00.000Z",
        "feedbackTimeout": "PT10M",
    }
    if request.url.path.startswith("/lora"):
        return {**common, "message": {"payloadHex": "00", "fPort": 1}}
    return {**common, "message": {"type": "text", "payload": "x", "topic": "t"}}


class CapturingAPI:
    """Answers like the API would and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "DELETE":
            return httpx.Response(202)
        if request.method == "POST":
            return httpx.Response(201, json=downlink_answer(request))
        if request.url.path.endswith("/downlinks"):
            body: dict[str, Any] = {"items": [downlink_answer(request)]}
            if "cursor" not in request.url.params:
                body["next"] = f"{BASE_URL}{request.url.path}?cursor=page-2%3D%3D"
            return httpx.Response(200, json=body)
        return httpx.Response(200, json=downlink_answer(request))


@pytest.fixture
def capture() -> Iterator[tuple[ThingsClient, CapturingAPI]]:
    api = CapturingAPI()
    client = ThingsClient(
        BASE_URL, StaticBearerToken("contract-token"), transport=httpx.MockTransport(api)
    )
    with client:
        yield client, api


def search_filters() -> list[SearchFilters]:
    one_filter_each = [
        SearchFilters(),
        *(SearchFilters(device_id=device_id) for device_id in DEVICE_IDS),
        SearchFilters(created_before=MOMENT),
        SearchFilters(created_since=MOMENT.astimezone(UTC).replace(microsecond=0)),
        SearchFilters(modified_before=MOMENT),
        SearchFilters(modified_since=MOMENT - timedelta(minutes=5)),
        *(SearchFilters(status=status) for status in ("PENDING", "EXECUTING", "DONE")),
        SearchFilters(sort="createdAt"),
        SearchFilters(sort=[SortField(field="modifiedAt", descending=True)]),
        SearchFilters(limit=1),
        SearchFilters(limit=500),
        SearchFilters(cursor="opaque+cursor/with=signs"),
    ]
    combinations = [
        SearchFilters(
            device_id="imei:350266800610993",
            created_before=MOMENT,
            created_since=MOMENT - timedelta(days=7),
            modified_before=MOMENT,
            modified_since=MOMENT - timedelta(days=1),
            status="DONE",
            sort="-createdAt,modifiedAt",
            limit=20,
            cursor="abc",
        ),
        SearchFilters(status="EXECUTING", modified_since=MOMENT, sort="modifiedAt", limit=100),
    ]
    return one_filter_each + combinations


def new_lora_downlinks() -> list[NewLoraDownlink]:
    return [
        NewLoraDownlink(
            device_id=device_id,
            message=NewLoraMessage(payload_hex="0A0b", f_port=f_port),
            feedback_timeout=timeout,
            retry_limit=retry_limit,
            dry_run=dry_run,
        )
        for device_id, f_port, timeout, retry_limit, dry_run in [
            (DEVICE_IDS[0], 1, "PT10M", 0, False),
            (DEVICE_IDS[3], 223, "P1D", 5, True),
            (DEVICE_IDS[4], 3, "P3DT4H5M6.5S", 1, False),
            (DEVICE_IDS[7], 100, "PT25H", 0, True),
        ]
    ]


def new_mqtt_downlinks() -> list[NewMqttDownlink]:
    messages: list[NewMqttTextMessage | NewMqttBinaryMessage] = [
        NewMqttTextMessage(payload="reboot", topic="cmd"),
        NewMqttTextMessage(payload="SGVsbG8=", topic="cmd", content_type="text/plain"),
        NewMqttTextMessage(payload="", topic="a/b", qos="AT_MOST_ONCE"),
        NewMqttBinaryMessage(payload="SGVsbG8sIHdvcmxkIQ==", topic="bin"),
        NewMqttBinaryMessage.from_bytes(
            b"\x00\xff", topic="bin", content_type="application/octet-stream", qos="AT_MOST_ONCE"
        ),
    ]
    return [
        NewMqttDownlink(
            device_id=DEVICE_IDS[index % len(DEVICE_IDS)],
            message=message,
            feedback_timeout="PT10M" if index % 2 else "P2DT1H",
            dry_run=bool(index % 2),
        )
        for index, message in enumerate(messages)
    ]


Scenario = Callable[[ThingsClient], object]


def scenarios(kind: str) -> list[Scenario]:
    """Everything the client can ask of one API (`kind` is "lora" or "mqtt")."""

    def resource(client: ThingsClient) -> Any:
        return getattr(client, kind)

    def searching(filters: SearchFilters) -> Scenario:
        return lambda client: resource(client).search(filters)

    def creating(new: NewLoraDownlink | NewMqttDownlink) -> Scenario:
        return lambda client: resource(client).create(new)

    found: list[Scenario] = [searching(filters) for filters in search_filters()]
    found.append(lambda client: resource(client).search())
    found.append(lambda client: list(resource(client).iter_search(SearchFilters(limit=1))))
    found.append(
        lambda client: resource(client).search_page(f"{BASE_URL}/{kind}/downlinks?cursor=xyz")
    )
    found.append(lambda client: resource(client).get(DOWNLINK_ID))
    found.append(lambda client: resource(client).cancel(DOWNLINK_ID))
    found.append(lambda client: resource(client).cancel(DOWNLINK_ID, forced=True))
    news = new_lora_downlinks() if kind == "lora" else new_mqtt_downlinks()
    found.extend(creating(new) for new in news)
    if kind == "lora":
        found.append(lambda client: client.check_connection())
    else:
        # The MQTT status filter is an open string in the spec (the LoRa one is an enum).
        found.append(searching(SearchFilters(status="ARCHIVED")))
    return found


def captured(kind: str, client: ThingsClient, api: CapturingAPI) -> list[httpx.Request]:
    for scenario in scenarios(kind):
        scenario(client)
    return api.requests


def validate(spec: OpenAPI, request: httpx.Request) -> None:
    spec.validate_request(as_openapi_request(request))


@pytest.mark.parametrize(
    ("kind", "spec", "other"), [("lora", LORA_SPEC, MQTT_SPEC), ("mqtt", MQTT_SPEC, LORA_SPEC)]
)
def test_every_request_conforms_to_its_own_spec(capture, kind, spec, other):
    client, api = capture
    requests = captured(kind, client, api)
    methods = {(r.method, "{id}" if DOWNLINK_ID in r.url.path else "") for r in requests}
    assert methods == {("GET", ""), ("GET", "{id}"), ("POST", ""), ("DELETE", "{id}")}
    assert len(requests) > 30
    for request in requests:
        validate(spec, request)
        with pytest.raises(OpenAPIError):  # and it is not a request for the other API
            validate(other, request)


# --- the validation can fail ------------------------------------------------------------------


def test_a_create_with_values_the_models_would_refuse_is_rejected(capture):
    client, api = capture
    # model_construct skips our validation: this is what a bug in the models would send.
    broken = NewLoraDownlink.model_construct(
        device_id="imei:123",
        message=NewLoraMessage.model_construct(payload_hex="zz", f_port=3),
        feedback_timeout="10 minutes",
        retry_limit=-1,
        dry_run=False,
    )
    client.lora.create(broken)
    with pytest.raises(OpenAPIError, match="Request body validation error"):
        validate(LORA_SPEC, api.requests[-1])


def body_without(request: httpx.Request, field: str) -> httpx.Request:
    body = json.loads(request.content)
    del body[field]
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx.Request(request.method, request.url, headers=headers, json=body)


def test_a_create_missing_a_required_field_is_rejected(capture):
    client, api = capture
    client.mqtt.create(new_mqtt_downlinks()[0])
    validate(MQTT_SPEC, api.requests[-1])
    with pytest.raises(OpenAPIError):
        validate(MQTT_SPEC, body_without(api.requests[-1], "feedbackTimeout"))


def test_a_request_without_the_bearer_token_is_rejected(capture):
    client, api = capture
    client.lora.search()
    request = copy.copy(api.requests[-1])
    request.headers = httpx.Headers(
        {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
    )
    with pytest.raises(OpenAPIError):
        validate(LORA_SPEC, request)


def test_an_unknown_status_filter_is_valid_for_mqtt_but_not_for_lora(capture):
    client, api = capture
    client.lora.search(SearchFilters(status="ARCHIVED"))
    lora_request = api.requests[-1]
    with pytest.raises(OpenAPIError):
        validate(LORA_SPEC, lora_request)
    client.mqtt.search(SearchFilters(status="ARCHIVED"))
    validate(MQTT_SPEC, api.requests[-1])


def test_a_malformed_query_parameter_is_rejected(capture):
    client, api = capture
    client.lora.search(SearchFilters(limit=5))
    good = api.requests[-1]
    bad = httpx.Request("GET", good.url.copy_with(params={"limit": "five"}), headers=good.headers)
    with pytest.raises(OpenAPIError):
        validate(LORA_SPEC, bad)
