"""Bearer tokens: static, and fetched from the identity service by client credentials."""

import json
import logging
import threading
import traceback
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest

from tests.at_once import at_once
from things_api import (
    ClientCredentials,
    NewLoraDownlink,
    NewLoraMessage,
    RetryPolicy,
    StaticBearerToken,
    ThingsAuthError,
    ThingsClient,
    ThingsRateLimited,
    ThingsUnauthorized,
)

API_URL = "https://api.things.test"
TOKEN_URL = "https://login.things.test/{tenant_id}/oauth2/v2.0/token"
CLIENT_SECRET = "s3cr3t-client-secret-value"
EMPTY_PAGE: dict[str, list[Any]] = {"items": []}


class Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeIdentityAndAPI:
    """An identity service handing out tok-1, tok-2, ... and an API accepting `valid` tokens."""

    def __init__(self, *, expires_in: Any = 3600, token_answer: httpx.Response | None = None):
        self.expires_in = expires_in
        self.token_answer = token_answer
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        # The auth flow repeats a request by re-sending the same object with a new header, so
        # the header is recorded as it was when the request arrived.
        self.api_bearers: list[str] = []
        self.valid: set[str] | None = None  # None: every issued token is accepted
        self.issued: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "login.things.test":
            return self.token(request)
        with self.lock:
            self.api_requests.append(request)
            self.api_bearers.append(request.headers.get("Authorization", ""))
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        accepted = self.issued if self.valid is None else self.valid
        if bearer not in accepted:
            return httpx.Response(401, json={"title": "Unauthorized", "status": 401})
        if request.method == "POST":
            return httpx.Response(201, json=downlink_json())
        return httpx.Response(200, json=EMPTY_PAGE)

    def token(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.token_requests.append(request)
            if self.token_answer is not None:
                return self.token_answer
            value = f"tok-{len(self.issued) + 1}"
            self.issued.append(value)
        body: dict[str, Any] = {"access_token": value, "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return httpx.Response(200, json=body)


def downlink_json() -> dict[str, Any]:
    return {
        "id": "12345678-1234-1234-1234-123456789012",
        "message": {"payloadHex": "00", "fPort": 1},
        "status": "PENDING",
        "deviceId": "imei:350266800610993",
        "createdAt": "2025-04-01T00:00:00Z",
        "modifiedAt": "2025-04-01T00:00:00Z",
        "feedbackTimeout": "PT10M",
    }


def credentials(clock: Clock, **options: Any) -> ClientCredentials:
    return ClientCredentials(
        TOKEN_URL,
        tenant_id="tenant-42",
        client_id="portal-client",
        client_secret=CLIENT_SECRET,
        audience="things-api",
        clock=clock,
        **options,
    )


def client_for(fake: FakeIdentityAndAPI, auth: httpx.Auth) -> ThingsClient:
    return ThingsClient(
        API_URL,
        auth,
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy.never(),
        timeout=httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0),
    )


def test_token_is_fetched_once_and_cached_across_calls():
    fake, clock = FakeIdentityAndAPI(), Clock()
    auth = credentials(clock)
    assert auth.token_expires_at is None
    with client_for(fake, auth) as client:
        for _ in range(5):
            client.lora.search()
    assert len(fake.token_requests) == 1
    assert fake.api_bearers == ["Bearer tok-1"] * 5
    assert auth.token_expires_at == datetime.fromtimestamp(clock.now + 3600, tz=UTC)


def test_token_request_is_a_client_credentials_form_post_to_the_tenant_url():
    fake = FakeIdentityAndAPI()
    with client_for(fake, credentials(Clock())) as client:
        client.lora.search()
    request = fake.token_requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://login.things.test/tenant-42/oauth2/v2.0/token"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "client_credentials",
        "client_id": "portal-client",
        "client_secret": CLIENT_SECRET,
        "audience": "things-api",
    }
    # The token request has the client's timeouts; without them it could wait forever.
    assert request.extensions["timeout"] == {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0}


def test_token_is_refreshed_when_the_clock_passes_expiry_minus_margin():
    fake, clock = FakeIdentityAndAPI(), Clock()
    start = clock.now
    with client_for(fake, credentials(clock, refresh_margin=60)) as client:
        client.lora.search()
        clock.now = start + 3600 - 60 - 0.001
        client.lora.search()
        assert len(fake.token_requests) == 1
        clock.now = start + 3600 - 60
        client.lora.search()
        assert len(fake.token_requests) == 2
        client.lora.search()
    assert fake.api_bearers == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
        "Bearer tok-2",
    ]


def test_a_short_lived_token_is_refreshed_halfway_rather_than_at_once():
    fake, clock = FakeIdentityAndAPI(expires_in=30), Clock()
    start = clock.now
    with client_for(fake, credentials(clock, refresh_margin=60)) as client:
        client.lora.search()
        clock.now = start + 14
        client.lora.search()
        assert len(fake.token_requests) == 1
        clock.now = start + 15
        client.lora.search()
    assert len(fake.token_requests) == 2


def test_without_expires_in_the_jwt_exp_claim_is_used():
    clock = Clock()
    access_token = jwt.encode({"exp": int(clock.now) + 1200}, "k" * 32, algorithm="HS256")
    answer = httpx.Response(200, json={"access_token": access_token, "token_type": "Bearer"})
    fake = FakeIdentityAndAPI(token_answer=answer)
    fake.valid = {access_token}
    auth = credentials(clock)
    with client_for(fake, auth) as client:
        client.lora.search()
    assert auth.token_expires_at == datetime.fromtimestamp(int(clock.now) + 1200, tz=UTC)


def test_a_401_fetches_a_new_token_and_retries_once():
    fake = FakeIdentityAndAPI()
    with client_for(fake, credentials(Clock())) as client:
        client.lora.search()
        fake.valid = {"tok-2"}  # tok-1 revoked before it expired
        client.lora.search()
    assert len(fake.token_requests) == 2
    assert fake.api_bearers == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_a_create_rejected_with_401_is_repeated_with_the_same_body():
    fake = FakeIdentityAndAPI()
    fake.valid = {"tok-2"}
    new = NewLoraDownlink(
        device_id="imei:350266800610993",
        message=NewLoraMessage(payload_hex="00", f_port=1),
        feedback_timeout="PT10M",
    )
    with client_for(fake, credentials(Clock())) as client:
        client.lora.create(new)
    assert [json.loads(r.content) for r in fake.api_requests] == [new.to_wire()] * 2
    assert fake.api_bearers == ["Bearer tok-1", "Bearer tok-2"]


def test_a_second_401_is_final():
    fake = FakeIdentityAndAPI()
    fake.valid = set()  # the API accepts nothing
    with client_for(fake, credentials(Clock())) as client, pytest.raises(ThingsUnauthorized):
        client.lora.search()
    assert len(fake.api_requests) == 2
    assert len(fake.token_requests) == 2


def test_a_wrong_client_secret_is_an_auth_error_without_the_secret():
    answer = httpx.Response(
        401,
        json={
            "error": "invalid_client",
            "error_description": f"Invalid client secret {CLIENT_SECRET} provided.",
        },
    )
    fake = FakeIdentityAndAPI(token_answer=answer)
    auth = credentials(Clock())
    with client_for(fake, auth) as client, pytest.raises(ThingsAuthError) as caught:
        client.lora.search()
    error = caught.value
    assert error.error_code == "invalid_client"
    assert error.status_code == 401
    assert "client id or client secret was not accepted" in str(error)
    assert fake.api_requests == []
    for text in (str(error), repr(error), "".join(traceback.format_exception(error)), repr(auth)):
        assert CLIENT_SECRET not in text


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(503, text="<html>down</html>"), "answered HTTP 503"),
        (httpx.Response(200, text="not json"), "held no access token"),
        (httpx.Response(200, json={"token_type": "Bearer"}), "held no access token"),
    ],
)
def test_an_unusable_token_answer_is_an_auth_error(answer, words):
    fake = FakeIdentityAndAPI(token_answer=answer)
    with client_for(fake, credentials(Clock())) as client, pytest.raises(ThingsAuthError) as caught:
        client.lora.search()
    assert words in str(caught.value)
    assert fake.api_requests == []


@pytest.mark.parametrize(
    ("exception", "words"),
    [
        (httpx.ConnectError("refused"), "could not be reached"),
        (httpx.ReadTimeout("slow"), "did not answer in time"),
    ],
)
def test_an_unreachable_identity_service_is_an_auth_error(exception, words):
    api_requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "login.things.test":
            raise exception
        api_requests.append(request)
        return httpx.Response(200, json=EMPTY_PAGE)

    auth = credentials(Clock())
    with ThingsClient(API_URL, auth, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ThingsAuthError) as caught:
            client.lora.search()
        assert words in str(caught.value)
        assert api_requests == []
        # The lock was released: a later call can still fetch a token (and fails the same way).
        with pytest.raises(ThingsAuthError):
            client.lora.search()


def test_ten_threads_at_once_fetch_the_token_once():
    fake = FakeIdentityAndAPI()
    arrived = threading.Condition()
    arrivals = 0
    token_endpoint = fake.token

    def slow_token(request: httpx.Request) -> httpx.Response:
        # Hold the first token request until every thread has arrived here, or for at most half
        # a second. Without the lock all ten arrive; with it the others wait for this one.
        nonlocal arrivals
        with arrived:
            arrivals += 1
            arrived.notify_all()
            arrived.wait_for(lambda: arrivals >= 10, timeout=0.5)
        return token_endpoint(request)

    fake.token = slow_token  # type: ignore[method-assign]
    with client_for(fake, credentials(Clock())) as client:
        at_once([client.lora.search] * 10, timeout=10)
    assert len(fake.token_requests) == 1
    assert arrivals == 1
    assert fake.api_bearers == ["Bearer tok-1"] * 10


def test_static_token_is_sent_as_bearer_and_its_expiry_read():
    access_token = jwt.encode({"exp": 1_900_000_000}, "k" * 32, algorithm="HS256")
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=EMPTY_PAGE)

    auth = StaticBearerToken(access_token)
    with ThingsClient(API_URL, auth, transport=httpx.MockTransport(handler)) as client:
        client.mqtt.search()
    assert requests[0].headers["Authorization"] == f"Bearer {access_token}"
    assert auth.token_expires_at == datetime.fromtimestamp(1_900_000_000, tz=UTC)
    assert access_token not in repr(auth)
    assert StaticBearerToken("not-a-jwt").token_expires_at is None


def test_static_token_cannot_be_empty():
    with pytest.raises(ValueError, match="empty"):
        StaticBearerToken("  ")


def test_secrets_stay_out_of_logs_during_the_whole_flow(caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakeIdentityAndAPI()
    with client_for(fake, credentials(Clock())) as client:
        client.lora.search()
        fake.valid = {"tok-2"}
        client.lora.search()
    assert "tok-1" not in caplog.text
    assert "tok-2" not in caplog.text
    assert CLIENT_SECRET not in caplog.text


class PaceRecorder:
    """A things_api.Pace that writes down what it was told, beside the fake's own log."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def before_send(self) -> None:
        self.log.append("slot")

    def rate_limited(self, retry_after: float | None) -> None:
        self.log.append(f"held {retry_after}")


def test_a_pace_is_told_after_the_token_fetch_right_before_the_create_and_on_its_429():
    log: list[str] = []

    class Fake(FakeIdentityAndAPI):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            answer = super().__call__(request)
            if request.method == "POST" and len(self.api_requests) == 2:
                answer = httpx.Response(429, headers={"Retry-After": "7"}, json={"status": 429})
            log.append(f"{request.method} {request.url.path} {answer.status_code}")
            return answer

    fake = Fake()
    new = NewLoraDownlink(
        device_id="deveui:0004a30b001c0530",
        message=NewLoraMessage.from_bytes(b"\x01", f_port=1),
        feedback_timeout="PT10M",
    )
    with client_for(fake, credentials(Clock())) as client:
        client.lora.create(new, pace=PaceRecorder(log))
        with pytest.raises(ThingsRateLimited):
            client.lora.create(new, pace=PaceRecorder(log))
        client.lora.search()  # without a pace: nothing told
    assert log == [
        "POST /tenant-42/oauth2/v2.0/token 200",
        "slot",
        "POST /lora/downlinks 201",
        "slot",
        "POST /lora/downlinks 429",
        "held 7.0",
        "GET /lora/downlinks 200",
    ]
