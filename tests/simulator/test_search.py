"""Search: each filter, sorting, limits and cursors."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from simulator.lifecycle import Kind
from simulator.search import DEFAULT_SORT, Position, SearchRequest, decode_cursor, encode_cursor
from simulator.store import DownlinkFilter
from simulator.validation import RequestInvalid
from tests.simulator.conftest import (
    DEVICE,
    EXECUTING_SECONDS,
    OTHER_DEVICE,
    PENDING_SECONDS,
    Api,
    hex_of,
    lora_body,
    mqtt_body,
)


def ids(response_json: dict[str, Any]) -> list[str]:
    return [item["id"] for item in response_json["items"]]


def search(api: Api, kind: str = "lora", **params: Any) -> dict[str, Any]:
    response = api.get(f"/{kind}/downlinks", query_string=params)
    assert response.status_code == 200, response.get_json()
    found: dict[str, Any] = response.get_json()
    return found


def create_spaced(
    api: Api, count: int, kind: str = "lora", **overrides: Any
) -> list[dict[str, Any]]:
    """`count` downlinks created one second apart."""
    created = []
    for _ in range(count):
        body = lora_body(**overrides) if kind == "lora" else mqtt_body(**overrides)
        created.append(api.create(kind, body))
        api.clock.advance(1)
    return created


def test_default_order_is_oldest_first(api: Api) -> None:
    created = create_spaced(api, 3)
    assert ids(search(api)) == [item["id"] for item in created]


def test_device_id_filter_is_an_exact_match(api: Api) -> None:
    mine = api.create("lora", lora_body(deviceId=DEVICE))
    api.create("lora", lora_body(deviceId=OTHER_DEVICE))
    api.create("lora", lora_body(deviceId=DEVICE.upper()))
    assert ids(search(api, deviceId=DEVICE)) == [mine["id"]]


def test_an_invalid_device_id_filter_is_a_400(api: Api) -> None:
    response = api.get("/lora/downlinks?deviceId=printer-7")
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "deviceId"


def test_created_since_is_inclusive_and_before_exclusive(api: Api) -> None:
    first, second, third = create_spaced(api, 3)
    assert ids(search(api, createdSince=second["createdAt"])) == [second["id"], third["id"]]
    assert ids(search(api, createdBefore=second["createdAt"])) == [first["id"]]
    assert ids(search(api, createdSince=first["createdAt"], createdBefore=third["createdAt"])) == [
        first["id"],
        second["id"],
    ]


def test_date_filters_accept_offsets(api: Api) -> None:
    first, second = create_spaced(api, 2)  # 00:00:00Z and 00:00:01Z
    assert ids(search(api, createdSince="2025-04-01T02:00:01+02:00")) == [second["id"]]
    assert ids(search(api, createdBefore="2025-04-01T00:00:00.001Z")) == [first["id"]]
    assert ids(search(api, createdSince="2025-04-01T00:00:00.0005Z")) == [second["id"]]


def test_modified_filters_see_transitions(api: Api) -> None:
    first = api.create("lora", lora_body())
    api.clock.advance(PENDING_SECONDS - 1)
    second = api.create("lora", lora_body())
    api.clock.advance(1)  # first becomes EXECUTING now, at 00:00:05
    assert ids(search(api, modifiedSince="2025-04-01T00:00:05Z")) == [first["id"]]
    assert ids(search(api, modifiedBefore="2025-04-01T00:00:05Z")) == [second["id"]]


def test_modified_since_never_misses_a_late_materialized_transition(api: Api) -> None:
    created = api.create("lora", lora_body())
    # Nobody asks for a minute; the DONE transition was due at 00:00:15.
    api.clock.advance(60)
    found = search(api, modifiedSince="2025-04-01T00:00:15Z")
    assert ids(found) == [created["id"]]
    assert found["items"][0]["modifiedAt"] == "2025-04-01T00:00:15.000Z"


@pytest.mark.parametrize(
    "name", ["createdBefore", "createdSince", "modifiedBefore", "modifiedSince"]
)
def test_invalid_date_times_name_the_parameter(api: Api, name: str) -> None:
    response = api.get("/mqtt/downlinks", query_string={name: "2025-04-01T00:00:00"})
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == name


def test_status_filter(api: Api) -> None:
    old = api.create("lora", lora_body())
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS)
    new = api.create("lora", lora_body())
    assert ids(search(api, status="DONE")) == [old["id"]]
    assert ids(search(api, status="PENDING")) == [new["id"]]
    assert ids(search(api, status="EXECUTING")) == []


def test_lora_status_filter_is_an_enum(api: Api) -> None:
    response = api.get("/lora/downlinks?status=SOME_NEW_STATUS")
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "status"


def test_mqtt_status_filter_is_open(api: Api) -> None:
    message = {"type": "text", "payload": "sim:STATUS=SOME_NEW_STATUS", "topic": "t"}
    odd = api.create("mqtt", mqtt_body(message=message))
    api.create("mqtt", mqtt_body())
    api.clock.advance(PENDING_SECONDS)
    assert ids(search(api, "mqtt", status="SOME_NEW_STATUS")) == [odd["id"]]
    assert ids(search(api, "mqtt", status="NEVER_SEEN")) == []


def test_sort_by_several_fields(api: Api) -> None:
    a = api.create("lora", lora_body(deviceId=OTHER_DEVICE, retryLimit=1))
    api.clock.advance(1)
    b = api.create("lora", lora_body(deviceId=DEVICE, retryLimit=1))
    api.clock.advance(1)
    c = api.create("lora", lora_body(deviceId=DEVICE, retryLimit=2))
    assert ids(search(api, sort="deviceId,-createdAt")) == [c["id"], b["id"], a["id"]]
    assert ids(search(api, sort="-retryLimit,createdAt")) == [c["id"], a["id"], b["id"]]
    assert ids(search(api, sort="-createdAt")) == [c["id"], b["id"], a["id"]]


def test_sort_by_message_fields_and_duration_length(api: Api) -> None:
    a = api.create(
        "lora", lora_body(message={"payloadHex": "01", "fPort": 20}, feedbackTimeout="PT25H")
    )
    b = api.create(
        "lora", lora_body(message={"payloadHex": "01", "fPort": 3}, feedbackTimeout="P1D")
    )
    c = api.create(
        "lora", lora_body(message={"payloadHex": "01", "fPort": 100}, feedbackTimeout="PT10M")
    )
    assert ids(search(api, sort="message.fPort")) == [b["id"], a["id"], c["id"]]
    # By length: 10 minutes < 1 day < 25 hours (not alphabetically).
    assert ids(search(api, sort="feedbackTimeout")) == [c["id"], b["id"], a["id"]]


def test_sort_mqtt_by_topic_and_missing_content_type(api: Api) -> None:
    a = api.create(
        "mqtt",
        mqtt_body(
            message={"type": "text", "payload": "x", "topic": "b", "contentType": "text/plain"}
        ),
    )
    b = api.create("mqtt", mqtt_body(message={"type": "text", "payload": "x", "topic": "a"}))
    assert ids(search(api, "mqtt", sort="message.topic")) == [b["id"], a["id"]]
    # Absent values come last ascending, first descending.
    assert ids(search(api, "mqtt", sort="message.contentType")) == [a["id"], b["id"]]
    assert ids(search(api, "mqtt", sort="-message.contentType")) == [b["id"], a["id"]]


def test_sort_by_last_failure_reason(api: Api) -> None:
    evicted = api.create(
        "lora", lora_body(message={"payloadHex": hex_of("sim:EVICTED"), "fPort": 1})
    )
    ok = api.create("lora", lora_body())
    timeout = api.create(
        "lora", lora_body(message={"payloadHex": hex_of("sim:FEEDBACK_TIMEOUT"), "fPort": 1})
    )
    api.clock.advance(PENDING_SECONDS + EXECUTING_SECONDS)
    assert ids(search(api, sort="lastFailureReason")) == [evicted["id"], timeout["id"], ok["id"]]


def test_ties_are_broken_by_id(api: Api) -> None:
    created = [api.create("lora", lora_body()) for _ in range(5)]  # same createdAt
    expected = sorted(item["id"] for item in created)
    assert ids(search(api, sort="createdAt")) == expected
    assert ids(search(api, sort="-createdAt")) == expected
    assert ids(search(api, sort="id")) == expected
    assert ids(search(api, sort="-id")) == expected[::-1]


@pytest.mark.parametrize(
    "sort", ["name", "createdAt,-name", "retryCount", "createdAt,,id", "createdAt,createdAt"]
)
def test_unknown_sort_fields_are_a_400_naming_sort(api: Api, sort: str) -> None:
    response = api.get("/mqtt/downlinks", query_string={"sort": sort})
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "sort"


@pytest.mark.parametrize(
    ("limit", "status"),
    [
        ("1", 200),
        ("1000", 200),
        ("0", 400),
        ("1001", 400),
        ("-1", 400),
        ("ten", 400),
        ("", 400),
        ("2.5", 400),
    ],
)
def test_limit_bounds(api: Api, limit: str, status: int) -> None:
    response = api.get("/lora/downlinks", query_string={"limit": limit})
    assert response.status_code == status
    if status == 400:
        assert response.get_json()["invalidParams"][0]["name"] == "limit"


@pytest.mark.parametrize("name", ["status", "limit", "deviceId", "sort", "createdSince"])
def test_a_parameter_given_twice_is_a_400(api: Api, name: str) -> None:
    values = {"status": "DONE", "limit": "5", "deviceId": DEVICE, "sort": "id"}
    value = values.get(name, "2025-04-01T00:00:00Z")
    response = api.get(f"/lora/downlinks?{name}={value}&{name}={value}")
    assert response.status_code == 400
    assert response.get_json()["invalidParams"] == [
        {"name": name, "reason": "must be given only once"}
    ]


def test_default_limit_is_50(api: Api) -> None:
    create_spaced(api, 51)
    page = search(api)
    assert len(page["items"]) == 50
    assert "next" in page


def follow(api: Api, url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", "localhost")
    assert list(parse_qs(parts.query)) == ["cursor"]
    response = api.get(parts.path, query_string=parts.query)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def test_walk_forward_and_back_over_pages(api: Api) -> None:
    created = [item["id"] for item in create_spaced(api, 5)]
    first = search(api, limit=2)
    assert ids(first) == created[0:2]
    assert "prev" not in first
    assert first["next"].startswith("http://localhost/lora/downlinks?cursor=")
    second = follow(api, first["next"])
    assert ids(second) == created[2:4]
    third = follow(api, second["next"])
    assert ids(third) == created[4:5]
    assert "next" not in third
    back = follow(api, third["prev"])
    assert ids(back) == created[2:4]
    start = follow(api, back["prev"])
    assert ids(start) == created[0:2]
    assert "prev" not in start
    assert "next" in start


def test_cursors_keep_filters_and_sort(api: Api) -> None:
    create_spaced(api, 2, deviceId=OTHER_DEVICE)
    mine = [item["id"] for item in create_spaced(api, 3, deviceId=DEVICE)]
    first = search(api, deviceId=DEVICE, sort="-createdAt", limit=2)
    assert ids(first) == mine[::-1][0:2]
    assert ids(follow(api, first["next"])) == mine[::-1][2:3]


def test_a_new_item_mid_walk_does_not_shift_pages(api: Api) -> None:
    created = [item["id"] for item in create_spaced(api, 4)]
    first = search(api, sort="-createdAt", limit=2)
    assert ids(first) == [created[3], created[2]]
    newest = api.create("lora", lora_body())  # sorts before the first page
    second = follow(api, first["next"])
    assert ids(second) == [created[1], created[0]]
    # Going back now reaches the newcomer.
    back = follow(api, second["prev"])
    assert ids(back) == [created[3], created[2]]
    assert ids(follow(api, back["prev"])) == [newest["id"]]


def test_next_follows_the_request_host(api: Api) -> None:
    create_spaced(api, 2)
    page = api.get("/lora/downlinks?limit=1", base_url="http://things.example:8443").get_json()
    assert page["next"].startswith("http://things.example:8443/lora/downlinks?cursor=")


@pytest.mark.parametrize("cursor", ["", "garbage", "abc.def", "eyJ2IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA"])
def test_a_garbled_cursor_is_a_400_naming_cursor(api: Api, cursor: str) -> None:
    response = api.get("/lora/downlinks", query_string={"cursor": cursor})
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "cursor"


def test_an_altered_cursor_is_refused(api: Api) -> None:
    create_spaced(api, 3)
    cursor = parse_qs(urlsplit(search(api, limit=1)["next"]).query)["cursor"][0]
    payload, _, mac = cursor.partition(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac
    response = api.get("/lora/downlinks", query_string={"cursor": tampered})
    assert response.status_code == 400


def test_a_lora_cursor_does_not_work_on_mqtt(api: Api) -> None:
    create_spaced(api, 2)
    next_url = search(api, limit=1)["next"]
    query = urlsplit(next_url).query
    response = api.get("/mqtt/downlinks", query_string=query)
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "cursor"


def test_cursor_round_trip() -> None:
    key = b"k" * 32
    request = SearchRequest(Kind.MQTT, {"status": "X"}, DownlinkFilter(status="X"), DEFAULT_SORT, 7)
    position = Position(">", ("2025-04-01T00:00:00.000Z", "id-1"))
    decoded = decode_cursor(Kind.MQTT, encode_cursor(request, position, key), key)
    assert decoded == SearchRequest(
        Kind.MQTT, {"status": "X"}, DownlinkFilter(status="X"), DEFAULT_SORT, 7, position
    )
    with pytest.raises(RequestInvalid):
        decode_cursor(Kind.MQTT, encode_cursor(request, position, key), b"another key")
