"""ThingsClient against a fake API at the HTTP transport (httpx.MockTransport)."""

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import httpx
import pytest

import things_api
from tests.things_api.wire import LORA_ID, MQTT_ID, lora_json, mqtt_json

BASE_URL = "https://api.things.test"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.do-not-leak-this-token"

Handler = Callable[[httpx.Request], httpx.Response]
JSON = {"Content-Type": "application/json"}


def problem(status: int, title: str, detail: str = "") -> httpx.Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return httpx.Response(
        status, content=json.dumps(body), headers={"Content-Type": "application/problem+json"}
    )


def new_lora() -> things_api.NewLoraDownlink:
    """A LoRa downlink to create, valid as the client checks it."""
    return things_api.NewLoraDownlink(
        device_id=MQTT_ID,
        message=things_api.NewLoraMessage(payload_hex="00", f_port=1),
        feedback_timeout="PT10M",
    )


class FakeAPI:
    """Answers from a list (one answer per request, the last one repeated) and keeps requests.

    An answer may be an httpx.Response, an exception to raise, or a handler function.
    """

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


class Sleeps(list[float]):
    """Records the delays the client would have slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Iterator[Callable[..., things_api.ThingsClient]]:
    clients: list[things_api.ThingsClient] = []

    def make(api: FakeAPI, **options: Any) -> things_api.ThingsClient:
        options.setdefault("retry", things_api.RetryPolicy(jitter="none"))
        client = things_api.ThingsClient(
            BASE_URL,
            things_api.StaticBearerToken(TOKEN),
            transport=httpx.MockTransport(api),
            sleep=sleeps,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


def page(items: list[dict[str, Any]], next_link: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"items": items}
    if next_link:
        body["next"] = next_link
    return httpx.Response(200, json=body)


# --- search -----------------------------------------------------------------------------------


def test_search_sends_every_filter_sort_and_limit(make_client):
    api = FakeAPI(page([lora_json()]))
    client = make_client(api)
    filters = things_api.SearchFilters(
        device_id="urn:dev:deveui:ea8fa35e2cf3489f:",
        created_before=datetime(2025, 5, 1, tzinfo=UTC),
        created_since=datetime(2025, 4, 1, tzinfo=UTC),
        modified_before=datetime(2025, 5, 2, tzinfo=UTC),
        modified_since=datetime(2025, 4, 2, 12, 30, tzinfo=UTC),
        status="DONE",
        sort="-createdAt,modifiedAt",
        limit=25,
        cursor="c-1",
    )
    result = client.lora.search(filters)
    request = api.last
    assert request.method == "GET"
    assert request.url.path == "/lora/downlinks"
    assert query_of(request) == {
        "deviceId": "urn:dev:deveui:ea8fa35e2cf3489f:",
        "createdBefore": "2025-05-01T00:00:00Z",
        "createdSince": "2025-04-01T00:00:00Z",
        "modifiedBefore": "2025-05-02T00:00:00Z",
        "modifiedSince": "2025-04-02T12:30:00Z",
        "status": "DONE",
        "sort": "-createdAt,modifiedAt",
        "limit": "25",
        "cursor": "c-1",
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == "things-portal/0.1"
    assert [item.id for item in result.items] == [UUID(LORA_ID)]
    assert isinstance(result.items[0], things_api.LoraDownlink)


def test_search_without_filters_sends_no_query(make_client):
    api = FakeAPI(page([]))
    result = make_client(api).mqtt.search()
    assert api.last.url.path == "/mqtt/downlinks"
    assert api.last.url.query == b""
    assert result.items == []
    assert result.next is None


def test_base_url_with_a_path_prefix_is_kept(sleeps):
    api = FakeAPI(page([]))
    with things_api.ThingsClient(
        "http://127.0.0.1:8001/things/",
        things_api.StaticBearerToken(TOKEN),
        transport=httpx.MockTransport(api),
    ) as client:
        client.mqtt.search()
    assert str(api.last.url) == "http://127.0.0.1:8001/things/mqtt/downlinks"


def test_mqtt_search_parses_text_and_binary_messages(make_client):
    api = FakeAPI(
        page(
            [
                mqtt_json({"type": "text", "payload": "AAAA", "topic": "t"}),
                mqtt_json({"type": "binary", "payload": "AAAA", "topic": "t"}),
            ]
        )
    )
    items = make_client(api).mqtt.search().items
    assert isinstance(items[0], things_api.MqttDownlink)
    assert isinstance(items[0].message, things_api.MqttTextMessage)
    assert isinstance(items[1].message, things_api.MqttBinaryMessage)


def test_iter_search_follows_next_links_across_three_pages(make_client):
    def pages(request: httpx.Request) -> httpx.Response:
        cursor = query_of(request).get("cursor")
        if cursor is None:
            ids = ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"]
            return page([lora_json(i) for i in ids], f"{BASE_URL}/lora/downlinks?cursor=p2")
        if cursor == "p2":
            # A relative link is resolved against the base URL.
            return page([lora_json("00000000-0000-0000-0000-000000000003")], "?cursor=p3")
        return page([lora_json("00000000-0000-0000-0000-000000000004")])

    api = FakeAPI(pages)
    found = list(
        make_client(api).lora.iter_search(things_api.SearchFilters(status="PENDING", limit=2))
    )
    assert [str(d.id)[-1] for d in found] == ["1", "2", "3", "4"]
    assert len(api.requests) == 3
    assert query_of(api.requests[0]) == {"status": "PENDING", "limit": "2"}
    assert query_of(api.requests[1]) == {"cursor": "p2"}
    assert query_of(api.requests[2]) == {"cursor": "p3"}
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api.requests)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.test/lora/downlinks?cursor=x",
        "http://api.things.test/lora/downlinks?cursor=x",
        "https://api.things.test:8443/lora/downlinks?cursor=x",
        "https://someone@api.things.test/lora/downlinks?cursor=x",
        "//evil.test/lora/downlinks",
    ],
)
def test_search_page_refuses_links_to_another_origin(make_client, link):
    api = FakeAPI(page([]))
    client = make_client(api)
    with pytest.raises(things_api.ThingsLinkError) as caught:
        client.lora.search_page(link)
    assert api.requests == []
    assert "does not point to the Things API" in str(caught.value)


def test_search_page_follows_same_origin_links(make_client):
    api = FakeAPI(page([lora_json()]))
    client = make_client(api)
    client.lora.search_page("https://api.things.test:443/lora/downlinks?cursor=abc%3D%3D")
    assert query_of(api.last) == {"cursor": "abc=="}


def test_iter_search_stops_before_following_a_foreign_next_link(make_client):
    api = FakeAPI(page([lora_json()], "https://evil.test/lora/downlinks?cursor=2"))
    iterator = make_client(api).lora.iter_search()
    assert next(iterator).id == UUID(LORA_ID)
    with pytest.raises(things_api.ThingsLinkError):
        next(iterator)
    assert len(api.requests) == 1


def test_iter_search_refuses_to_loop_forever(make_client):
    api = FakeAPI(page([lora_json()], f"{BASE_URL}/lora/downlinks?cursor=same"))
    with pytest.raises(things_api.ThingsResponseError, match="already read"):
        list(make_client(api).lora.iter_search())
    assert len(api.requests) == 2


# --- get, create, cancel ----------------------------------------------------------------------


def test_get_happy_path(make_client):
    api = FakeAPI(httpx.Response(200, json=lora_json(status="DONE")))
    downlink = make_client(api).lora.get(UUID(LORA_ID))
    assert api.last.method == "GET"
    assert api.last.url.path == f"/lora/downlinks/{LORA_ID}"
    assert downlink.status == "DONE"
    assert downlink.raw == lora_json(status="DONE")


def test_get_with_a_non_uuid_sends_nothing(make_client):
    api = FakeAPI(httpx.Response(200, json=lora_json()))
    client = make_client(api)
    for bad in ("../mqtt/downlinks", "42", ""):
        with pytest.raises(ValueError, match="not a downlink id"):
            client.mqtt.get(bad)
    assert api.requests == []


def test_get_normalises_the_id(make_client):
    api = FakeAPI(httpx.Response(200, json=lora_json()))
    make_client(api).lora.get(LORA_ID.upper())
    assert api.last.url.path == f"/lora/downlinks/{LORA_ID}"


def test_create_lora_posts_the_wire_body_and_returns_the_downlink(make_client):
    api = FakeAPI(httpx.Response(201, json=lora_json()))
    new = things_api.NewLoraDownlink(
        device_id="imei:350266800610993",
        message=things_api.NewLoraMessage(payload_hex="0a0b", f_port=3),
        feedback_timeout="PT10M",
        retry_limit=2,
    )
    created = make_client(api).lora.create(new)
    assert api.last.method == "POST"
    assert api.last.url.path == "/lora/downlinks"
    assert api.last.headers["Content-Type"] == "application/json"
    assert json.loads(api.last.content) == new.to_wire()
    assert created.id == UUID(LORA_ID)


@pytest.mark.parametrize(
    "message",
    [
        things_api.NewMqttTextMessage(payload="reboot", topic="cmd"),
        things_api.NewMqttBinaryMessage(
            payload="AP8=", topic="cmd", content_type="application/octet-stream"
        ),
    ],
)
def test_create_mqtt_text_and_binary(make_client, message):
    answer = mqtt_json(message.to_wire())
    api = FakeAPI(httpx.Response(201, json=answer))
    new = things_api.NewMqttDownlink(device_id=MQTT_ID, message=message, feedback_timeout="PT1H")
    created = make_client(api).mqtt.create(new)
    assert api.last.url.path == "/mqtt/downlinks"
    assert json.loads(api.last.content) == new.to_wire()
    assert created.message.type == message.type


def test_create_refuses_the_other_kind_of_downlink(make_client):
    api = FakeAPI(httpx.Response(201, json=lora_json()))
    with pytest.raises(TypeError):
        make_client(api).mqtt.create(new_lora())
    assert api.requests == []


@pytest.mark.parametrize(("forced", "query"), [(False, {}), (True, {"forced": "true"})])
def test_cancel_sends_delete(make_client, forced, query):
    api = FakeAPI(httpx.Response(202))
    assert make_client(api).mqtt.cancel(MQTT_ID, forced=forced) is None
    assert api.last.method == "DELETE"
    assert api.last.url.path == f"/mqtt/downlinks/{MQTT_ID}"
    assert query_of(api.last) == query


def test_cancel_conflict_carries_the_problem(make_client):
    api = FakeAPI(problem(409, "Conflict", "Downlink status DONE does not permit cancellation"))
    with pytest.raises(things_api.ThingsConflict) as caught:
        make_client(api).lora.cancel(LORA_ID)
    error = caught.value
    assert error.status_code == 409
    assert error.problem is not None
    assert error.problem.detail == "Downlink status DONE does not permit cancellation"
    assert (error.method, error.path) == ("DELETE", f"/lora/downlinks/{LORA_ID}")
    assert str(error) == (
        "The Things API refused because of the downlink's current state: "
        "Conflict: Downlink status DONE does not permit cancellation"
    )
    assert len(api.requests) == 1


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, things_api.ThingsBadRequest),
        (401, things_api.ThingsUnauthorized),
        (403, things_api.ThingsForbidden),
        (404, things_api.ThingsNotFound),
        (409, things_api.ThingsConflict),
        (422, things_api.ThingsAPIError),
        (429, things_api.ThingsRateLimited),
        (500, things_api.ThingsServerError),
        (503, things_api.ThingsServerError),
    ],
)
def test_error_statuses_are_mapped(make_client, status, error_class):
    api = FakeAPI(problem(status, "Title", "Some detail"))
    with pytest.raises(things_api.ThingsAPIError) as caught:
        make_client(api, retry=things_api.RetryPolicy.never()).lora.get(LORA_ID)
    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert caught.value.problem is not None
    assert caught.value.problem.title == "Title"
    assert "Title: Some detail" in caught.value.describe()


@pytest.mark.parametrize(
    "body", [b"<html>Bad gateway</html>", b"[1, 2]", b"", b'{"status": "broken"']
)
def test_error_bodies_that_are_not_problems_are_tolerated(make_client, body):
    api = FakeAPI(httpx.Response(500, content=body, headers={"Content-Type": "text/html"}))
    with pytest.raises(things_api.ThingsServerError) as caught:
        make_client(api).lora.get(LORA_ID)
    assert caught.value.problem is None
    assert str(caught.value) == "The Things API had an internal problem (HTTP 500)."


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # Some other service's JSON error, not a Problem at all.
        ("application/json", {"title": "Redis says", "status": 403, "detail": "internal words"}),
        # A Problem whose status is not the answer's: not the Things API's own.
        ("application/problem+json", {"title": "Redis says", "status": 500, "detail": "internal"}),
        ("application/problem+json", {"title": "Redis says", "detail": "internal words"}),
    ],
)
def test_only_the_things_apis_own_problems_are_shown_in_detail(make_client, content_type, body):
    api = FakeAPI(
        httpx.Response(403, content=json.dumps(body), headers={"Content-Type": content_type})
    )
    with pytest.raises(things_api.ThingsAPIError) as caught:
        make_client(api).lora.get(LORA_ID)
    assert caught.value.problem is None
    assert "Redis" not in str(caught.value)
    assert "internal" not in str(caught.value)
    assert "(HTTP 403)" in str(caught.value)


def test_a_problem_with_parameters_in_its_content_type_is_still_read(make_client):
    body = {"title": "Forbidden", "status": 403, "detail": "not your downlink"}
    api = FakeAPI(
        httpx.Response(
            403,
            content=json.dumps(body),
            headers={"Content-Type": "Application/Problem+JSON; charset=utf-8"},
        )
    )
    with pytest.raises(things_api.ThingsAPIError) as caught:
        make_client(api).lora.get(LORA_ID)
    assert "not your downlink" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>hello</html>", "not JSON"),
        (b'{"items": "nope"}', "unexpected shape at items"),
        (b'{"items": [{"id": "x"}]}', "unexpected shape at items.0"),
        (b"null", "unexpected shape"),
    ],
)
def test_garbage_success_bodies_raise_response_error(make_client, body, reason):
    api = FakeAPI(httpx.Response(200, content=body))
    with pytest.raises(things_api.ThingsResponseError) as caught:
        make_client(api).lora.search()
    assert reason in caught.value.reason
    assert caught.value.status_code == 200
    assert caught.value.snippet == body.decode()[:200]
    assert str(caught.value).startswith(
        "The Things API gave an answer that could not be understood"
    )


def test_garbage_after_a_create_is_a_response_error(make_client):
    api = FakeAPI(httpx.Response(201, content=b"created!"))
    with pytest.raises(things_api.ThingsResponseError):
        make_client(api).lora.create(new_lora())


def test_a_redirect_is_not_followed(make_client):
    api = FakeAPI(httpx.Response(302, headers={"Location": "https://evil.test/"}))
    with pytest.raises(things_api.ThingsResponseError, match="HTTP 302"):
        make_client(api).lora.search()
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("exception", "error_class", "reached", "text"),
    [
        (
            httpx.ConnectError("refused"),
            things_api.ThingsConnectionError,
            False,
            "Could not connect",
        ),
        (httpx.ConnectTimeout("slow"), things_api.ThingsTimeoutError, False, "within 5 seconds"),
        (
            httpx.ReadTimeout("slow"),
            things_api.ThingsTimeoutError,
            True,
            "The Things API did not answer within 10 seconds",
        ),
        (httpx.WriteTimeout("slow"), things_api.ThingsTimeoutError, True, "Could not send"),
        (httpx.PoolTimeout("busy"), things_api.ThingsTimeoutError, False, "No free connection"),
        (
            httpx.RemoteProtocolError("eof"),
            things_api.ThingsConnectionError,
            True,
            "may or may not",
        ),
        (httpx.ReadError("reset"), things_api.ThingsConnectionError, True, "may or may not"),
    ],
)
def test_transport_errors_are_mapped(make_client, exception, error_class, reached, text):
    api = FakeAPI(exception)
    with pytest.raises(things_api.ThingsError) as caught:
        make_client(api, retry=things_api.RetryPolicy.never()).lora.get(LORA_ID)
    assert type(caught.value) is error_class
    assert isinstance(caught.value, things_api.ThingsTransportError)
    assert caught.value.may_have_reached_server is reached
    assert text in str(caught.value)


# --- retries ----------------------------------------------------------------------------------


def test_get_retries_a_429_after_its_retry_after_seconds(make_client, sleeps):
    api = FakeAPI(
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=lora_json())
    )
    make_client(api).lora.get(LORA_ID)
    assert sleeps == [2.0]
    assert len(api.requests) == 2


def test_get_honours_a_retry_after_http_date(make_client, sleeps):
    now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2025, 6, 1, 12, 0, 7, tzinfo=UTC), usegmt=True)
    api = FakeAPI(
        httpx.Response(503, headers={"Retry-After": later}), httpx.Response(200, json=lora_json())
    )
    client = make_client(api, retry=things_api.RetryPolicy(jitter="none", clock=now.timestamp))
    client.lora.get(LORA_ID)
    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_cap_gives_up_at_once(make_client, sleeps):
    api = FakeAPI(httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(things_api.ThingsRateLimited) as caught:
        make_client(api).lora.search()
    assert caught.value.retry_after == 120.0
    assert "Try again in 120 seconds" in str(caught.value)
    assert sleeps == []
    assert len(api.requests) == 1


def test_get_retries_503_with_exponential_backoff(make_client, sleeps):
    api = FakeAPI(httpx.Response(503), httpx.Response(503), page([]))
    make_client(api).lora.search()
    assert sleeps == [0.5, 1.0]
    assert len(api.requests) == 3


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_gives_up_after_max_attempts(make_client, sleeps, status):
    api = FakeAPI(httpx.Response(status))
    with pytest.raises(things_api.ThingsAPIError) as caught:
        make_client(api).lora.search()
    assert caught.value.status_code == status
    assert len(api.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_500_is_not_retried(make_client, sleeps):
    api = FakeAPI(httpx.Response(500))
    with pytest.raises(things_api.ThingsServerError):
        make_client(api).lora.search()
    assert len(api.requests) == 1


def test_backoff_is_capped(make_client, sleeps):
    api = FakeAPI(httpx.Response(502))
    policy = things_api.RetryPolicy(
        max_attempts=6, backoff_base=1.0, backoff_cap=3.0, jitter="none"
    )
    with pytest.raises(things_api.ThingsServerError):
        make_client(api, retry=policy).lora.search()
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert len(api.requests) == 6


def test_full_jitter_uses_the_injected_random_source(make_client, sleeps):
    api = FakeAPI(httpx.Response(503), httpx.Response(503), page([]))
    make_client(api, retry=things_api.RetryPolicy(random_source=lambda: 0.25)).lora.search()
    assert sleeps == [0.125, 0.25]


def test_decorrelated_jitter_stays_within_bounds(make_client, sleeps):
    api = FakeAPI(httpx.Response(503))
    policy = things_api.RetryPolicy(
        max_attempts=5, jitter="decorrelated", random_source=lambda: 1.0
    )
    with pytest.raises(things_api.ThingsServerError):
        make_client(api, retry=policy).lora.search()
    # Between base and 3 x the previous wait (base at first), capped at 8; random = 1 → upper.
    assert sleeps == [1.5, 4.5, 8.0, 8.0]


def test_get_retries_timeouts_and_connection_errors(make_client, sleeps):
    api = FakeAPI(httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), page([]))
    make_client(api).lora.search()
    assert len(api.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_get_gives_up_on_timeouts_after_max_attempts(make_client, sleeps):
    api = FakeAPI(httpx.ReadTimeout("slow"))
    with pytest.raises(things_api.ThingsTimeoutError):
        make_client(api).lora.search()
    assert len(api.requests) == 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    ("answer", "error_class", "reached"),
    [
        (httpx.Response(503, headers={"Retry-After": "1"}), things_api.ThingsServerError, None),
        (httpx.Response(429, headers={"Retry-After": "1"}), things_api.ThingsRateLimited, None),
        (httpx.ReadTimeout("slow"), things_api.ThingsTimeoutError, True),
        (httpx.ConnectError("refused"), things_api.ThingsConnectionError, False),
    ],
)
def test_create_is_never_retried(make_client, sleeps, answer, error_class, reached):
    api = FakeAPI(answer, httpx.Response(201, json=lora_json()))
    with pytest.raises(error_class) as caught:
        make_client(api).lora.create(new_lora())
    assert len(api.requests) == 1
    assert sleeps == []
    if reached is not None:
        assert isinstance(caught.value, things_api.ThingsTransportError)
        assert caught.value.may_have_reached_server is reached


@pytest.mark.parametrize(
    ("answer", "unknown"),
    [
        (httpx.Response(201, content=b"garbage"), True),
        (httpx.Response(500), True),
        (httpx.Response(502), True),
        (httpx.ReadTimeout("slow"), True),
        (httpx.RemoteProtocolError("eof"), True),
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.PoolTimeout("busy"), False),
        (httpx.Response(400), False),
        (httpx.Response(429), False),
        (httpx.Response(302), False),
    ],
)
def test_a_failed_create_says_whether_its_outcome_is_unknown(make_client, answer, unknown):
    api = FakeAPI(answer)
    with pytest.raises(things_api.ThingsError) as caught:
        make_client(api).lora.create(new_lora())
    assert caught.value.outcome_unknown is unknown


@pytest.mark.parametrize(
    "answer", [httpx.Response(503), httpx.Response(429), httpx.ReadTimeout("slow")]
)
def test_cancel_is_never_retried(make_client, sleeps, answer):
    api = FakeAPI(answer, httpx.Response(202))
    with pytest.raises(things_api.ThingsError):
        make_client(api).lora.cancel(LORA_ID)
    assert len(api.requests) == 1
    assert sleeps == []


# --- observation and secrets ------------------------------------------------------------------


def test_observer_gets_one_record_per_attempt(make_client):
    records: list[things_api.RequestRecord] = []
    api = FakeAPI(httpx.ReadTimeout("slow"), httpx.Response(503), page([]))
    make_client(api, observer=records.append).lora.search(
        things_api.SearchFilters(cursor="secret-ish")
    )
    assert [(r.method, r.path, r.status, r.error, r.attempt) for r in records] == [
        ("GET", "/lora/downlinks", None, "timeout", 1),
        ("GET", "/lora/downlinks", 503, None, 2),
        ("GET", "/lora/downlinks", 200, None, 3),
    ]
    assert all(r.elapsed >= 0 for r in records)


def test_a_failing_observer_does_not_break_the_call(make_client):
    def broken(record: things_api.RequestRecord) -> None:
        raise RuntimeError("observer bug")

    api = FakeAPI(page([]))
    assert make_client(api, observer=broken).lora.search().items == []


def test_one_log_line_per_request_without_headers_query_or_token(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    api = FakeAPI(httpx.Response(503), page([]))
    make_client(api).lora.search(things_api.SearchFilters(cursor="cursor-value"))
    lines = [r for r in caplog.records if r.name == "things_api"]
    assert [r.getMessage().split(" ")[:3] for r in lines] == [
        ["GET", "/lora/downlinks", "503"],
        ["GET", "/lora/downlinks", "200"],
    ]
    assert TOKEN not in caplog.text
    assert "Authorization" not in caplog.text
    assert not any("cursor-value" in r.getMessage() for r in lines)


@pytest.mark.parametrize(
    "answer",
    [
        problem(401, "Unauthorized", "Bad token"),
        httpx.Response(200, content=b"garbage"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
    ],
)
def test_the_token_appears_in_no_log_exception_or_repr(make_client, caplog, answer):
    caplog.set_level(logging.DEBUG)
    api = FakeAPI(answer)
    client = make_client(api, retry=things_api.RetryPolicy.never())
    with pytest.raises(things_api.ThingsError) as caught:
        client.lora.search()
    error = caught.value
    shown = [
        str(error),
        repr(error),
        error.describe(),
        "".join(traceback.format_exception(error)),
        repr(client),
        repr(client.auth),
        caplog.text,
    ]
    assert api.last.headers["Authorization"] == f"Bearer {TOKEN}"  # it was sent...
    for text in shown:
        assert TOKEN not in text  # ...and shown nowhere
        assert "c2VjcmV0LXRva2Vu" not in text


# --- connection check and lifecycle -----------------------------------------------------------


def test_check_connection_makes_one_cheap_read(make_client):
    api = FakeAPI(page([]))
    make_client(api).check_connection()
    assert len(api.requests) == 1
    assert api.last.url.path == "/lora/downlinks"
    assert query_of(api.last) == {"limit": "1"}


def test_check_connection_reports_failure_without_retrying(make_client, sleeps):
    api = FakeAPI(httpx.Response(503))
    with pytest.raises(things_api.ThingsServerError):
        make_client(api).check_connection()
    assert len(api.requests) == 1
    assert sleeps == []


def test_the_client_is_a_context_manager_that_closes(sleeps):
    api = FakeAPI(page([]))
    with things_api.ThingsClient(
        BASE_URL, things_api.StaticBearerToken(TOKEN), transport=httpx.MockTransport(api)
    ) as c:
        c.lora.search()
    with pytest.raises(RuntimeError, match="closed"):
        c.lora.search()
    assert len(api.requests) == 1


# --- cancel: only 202 is accepted ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b'{"items": [{"id": "'),  # a broken body
        httpx.Response(200, json={"status": "whatever"}),
        httpx.Response(204),
    ],
)
def test_a_cancel_answered_with_another_success_is_outcome_unknown(make_client, answer):
    api = FakeAPI(answer)
    with pytest.raises(things_api.ThingsResponseError) as caught:
        make_client(api).lora.cancel(LORA_ID)
    assert caught.value.outcome_unknown is True
    assert f"HTTP {answer.status_code} instead of 202 Accepted" in str(caught.value)
    assert len(api.requests) == 1


# --- the time budget ----------------------------------------------------------------------------


def test_inside_a_budget_every_attempt_waits_at_most_what_is_left(make_client):
    seen: list[dict[str, float]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return page([])

    with things_api.time_budget(2.0):
        make_client(FakeAPI(answer)).lora.search()
    make_client(FakeAPI(answer)).lora.search()
    inside, outside = seen
    assert all(0 < value <= 2.0 for value in inside.values())
    assert outside["read"] == 10.0  # the client's own timeout, outside any budget


def test_no_retry_is_made_that_would_overrun_the_budget(make_client, sleeps):
    api = FakeAPI(httpx.Response(503))
    policy = things_api.RetryPolicy(max_attempts=5, backoff_base=0.5, jitter="none")
    with things_api.time_budget(0.6), pytest.raises(things_api.ThingsServerError):
        make_client(api, retry=policy).lora.search()
    # The first wait (0.5 s) still fits, the second (1 s) would not.
    assert len(api.requests) == 2
    assert sleeps == [0.5]


def test_a_spent_budget_sends_nothing_and_says_so(make_client):
    api = FakeAPI(page([]))
    with things_api.time_budget(0.0), pytest.raises(things_api.ThingsTimeoutError) as caught:
        make_client(api).lora.create(new_lora())
    assert api.requests == []
    assert caught.value.phase == "deadline"
    assert caught.value.outcome_unknown is False  # nothing was sent: it can be sent again
    assert "Gave up waiting for the Things API" in str(caught.value)


def test_nested_budgets_keep_the_tighter_deadline() -> None:
    with things_api.time_budget(1.0) as outer, things_api.time_budget(30.0) as inner:
        assert inner is outer
    with things_api.time_budget(30.0), things_api.time_budget(1.0) as inner:
        assert inner is not None
        assert inner.seconds == 1.0


# --- absurd bodies ------------------------------------------------------------------------------


def test_a_deeply_nested_answer_is_a_response_error(make_client):
    api = FakeAPI(httpx.Response(200, content=b"[" * 100_000, headers=JSON))
    with pytest.raises(things_api.ThingsResponseError) as caught:
        make_client(api).lora.search()
    assert "nested too deeply" in str(caught.value)


def test_an_answer_over_the_size_limit_is_not_read_to_the_end(make_client):
    body = json.dumps({"items": [lora_json()] * 200}).encode()
    api = FakeAPI(httpx.Response(200, content=body, headers=JSON))
    with pytest.raises(things_api.ThingsResponseError) as caught:
        make_client(api, max_response_bytes=len(body) - 1).lora.search()
    assert "the answer is larger than" in str(caught.value)
    assert make_client(FakeAPI(httpx.Response(200, content=body, headers=JSON))).lora.search()


def test_a_huge_error_answer_is_not_read_either(make_client):
    api = FakeAPI(httpx.Response(500, content=b"x" * 2_000, headers=JSON))
    with pytest.raises(things_api.ThingsResponseError) as caught:
        make_client(api, max_response_bytes=1_000, retry=things_api.RetryPolicy.never()).lora.get(
            LORA_ID
        )
    assert caught.value.status_code == 500
    assert caught.value.outcome_unknown is True  # a 5xx may come after the work was done
