"""Secrets out of upstream text, in every encoding they travel in."""

import base64
import json
from urllib.parse import quote, quote_plus

import httpx
import pytest

from things_api import ClientCredentials, StaticBearerToken, ThingsClient, ThingsError
from things_api.redaction import REDACTED, redact, redact_json

CANARY = "CANARY+enc/9=x y&z"
SHAPES = {
    "raw": CANARY,
    "url-encoded": quote(CANARY, safe=""),
    "form-encoded": quote_plus(CANARY),
    "json-escaped": json.dumps(CANARY)[1:-1],
    "base64": base64.b64encode(CANARY.encode()).decode(),
    "base64url, unpadded": base64.urlsafe_b64encode(CANARY.encode()).decode().rstrip("="),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_encoding_of_a_secret_is_replaced(shape: str) -> None:
    text = f"the service said: client_secret={SHAPES[shape]}&grant_type=client_credentials"
    cleaned = redact(text, [CANARY])
    assert SHAPES[shape] not in cleaned
    assert REDACTED in cleaned
    assert cleaned.endswith("&grant_type=client_credentials")


def test_tokens_are_replaced_whoever_they_belong_to() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzb21lb25lIn0.c2lnbmF0dXJl"
    text = f"Authorization: Bearer opaque-token-1234567890 and {jwt}; basic dXNlcjpwYXNzd29yZA=="
    cleaned = redact(text)
    for leaked in ("opaque-token-1234567890", jwt, "dXNlcjpwYXNzd29yZA=="):
        assert leaked not in cleaned
    assert cleaned.startswith("Authorization: Bearer [redacted]")


def test_ordinary_text_is_left_alone() -> None:
    text = "Downlink status DONE does not permit cancellation (bearer of bad news)"
    assert redact(text, ["abc", ""]) == text  # too short to look for, and empty
    words = "Basic configuration and BASIC SETTINGS are words, not credentials"
    assert redact(words) == words


def test_json_values_and_keys_are_redacted() -> None:
    body = {"detail": f"echo {CANARY}", "nested": [{quote_plus(CANARY): 1}], "status": 401}
    cleaned = redact_json(body, [CANARY])
    assert CANARY not in json.dumps(cleaned)
    assert quote_plus(CANARY) not in json.dumps(cleaned)
    assert cleaned["status"] == 401


def echoing_identity_service(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/token"):
        body = request.content.decode()
        return httpx.Response(
            400, json={"error": "invalid_client", "error_description": f"you sent {body}"}
        )
    return httpx.Response(200, json={"items": []})


def test_an_identity_service_echoing_the_form_body_does_not_leak_the_secret() -> None:
    auth = ClientCredentials("https://id.test/token", "tenant", "client", CANARY, "audience")
    transport = httpx.MockTransport(echoing_identity_service)
    with (
        ThingsClient("https://api.test", auth, transport=transport) as client,
        pytest.raises(ThingsError) as caught,
    ):
        client.check_connection()
    said = str(caught.value)
    assert "you sent" in said
    for shape in SHAPES.values():
        assert shape not in said


def test_an_api_echoing_the_authorization_header_does_not_leak_the_token() -> None:
    token = "static-token-with+/=&-CANARY-1234"

    def echo(request: httpx.Request) -> httpx.Response:
        detail = f"rejected header: {request.headers['Authorization']}"
        return httpx.Response(
            401,
            content=json.dumps({"title": "Unauthorized", "status": 401, "detail": detail}),
            headers={"Content-Type": "application/problem+json"},
        )

    transport = httpx.MockTransport(echo)
    with (
        ThingsClient("https://api.test", StaticBearerToken(token), transport=transport) as client,
        pytest.raises(ThingsError) as caught,
    ):
        client.lora.search()
    assert "rejected header" in str(caught.value)
    assert token not in str(caught.value)
    assert token not in repr(getattr(caught.value, "problem", None))
