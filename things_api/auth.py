"""How the client proves who it is to the Things API: two `httpx.Auth` implementations.

- `StaticBearerToken`: a bearer JWT pasted by a team admin.
- `ClientCredentials`: a token fetched from KPN's identity service (GRIP) with the OAuth2 client
  credentials grant. GRIP hands out tokens of about an hour and no refresh token, so a new one is
  fetched shortly before the old one expires, or when the API answers 401.

Both hold their secrets in `SecretStr`, and neither repr shows them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import jwt
from pydantic import SecretStr

from things_api.errors import ThingsAuthError
from things_api.redaction import redact

TOKEN_REQUEST_EXTENSION: Final = "things_token_request"  # noqa: S105 - a name, not a secret
"""Set in the extensions of the requests that fetch a token, so the client can tell them apart."""

FALLBACK_TOKEN_LIFETIME: Final = 300.0
"""Seconds a token is trusted when the identity service says nothing about its lifetime."""


def _jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT, read WITHOUT verifying it (only to show and plan refreshes)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        try:
            return datetime.fromtimestamp(exp, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def is_token_request(request: httpx.Request) -> bool:
    """Whether `request` is one of ours to the identity service (not to the Things API)."""
    return bool(request.extensions.get(TOKEN_REQUEST_EXTENSION))


class StaticBearerToken(httpx.Auth):
    """A fixed bearer token, sent as `Authorization: Bearer …` on every request."""

    def __init__(self, token: str | SecretStr) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        if not self._token.get_secret_value().strip():
            raise ValueError("the bearer token is empty")

    @property
    def token_expires_at(self) -> datetime | None:
        """When the token expires according to its `exp` claim (None if it is not a JWT)."""
        return _jwt_expiry(self._token.get_secret_value())

    def secrets(self) -> list[str]:
        """What must never come back out of this client (see redaction.py)."""
        return [self._token.get_secret_value()]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "StaticBearerToken(token='**********')"


@dataclass(frozen=True)
class _Token:
    value: SecretStr
    expires_at: float  # epoch seconds, from the injected clock
    refresh_at: float


class ClientCredentials(httpx.Auth):
    """OAuth2 client credentials against KPN's identity service, with a cached token.

    `token_url` may contain `{tenant_id}`, which is filled in. The token is fetched through the
    same httpx client (and transport) as the API calls, kept until `refresh_margin` seconds
    before it expires, and fetched again on expiry or when the API answers 401; the request is
    then repeated once with the new token (a 401 means the API did not act on it, so repeating
    even a create is safe). A second 401 is final. A lock makes concurrent callers share one
    token fetch.

    Synchronous clients only: the lock is a `threading.Lock`.
    """

    requires_response_body = True  # The flow reads the token endpoint's JSON answer.

    def __init__(
        self,
        token_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str | SecretStr,
        audience: str,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 60.0,
    ) -> None:
        self.token_url = token_url.replace("{tenant_id}", tenant_id)
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.audience = audience
        self._client_secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"audience={self.audience!r}, client_secret='**********')"
        )

    @property
    def token_expires_at(self) -> datetime | None:
        """When the cached token expires (None before the first fetch)."""
        token = self._token
        return None if token is None else datetime.fromtimestamp(token.expires_at, tz=UTC)

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after the client secret was changed)."""
        with self._lock:
            self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = yield from self._fetch_token(request)
        request.headers["Authorization"] = f"Bearer {token.value.get_secret_value()}"
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        with self._lock:
            # Another thread may have fetched a fresh token meanwhile; use that one if so.
            if self._token is None or self._token is token:
                self._token = None
                token = yield from self._fetch_token(request)
            else:
                token = self._token
        request.headers["Authorization"] = f"Bearer {token.value.get_secret_value()}"
        yield request

    def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        raise NotImplementedError("ClientCredentials works with a synchronous httpx.Client only")

    def _fetch_token(
        self, api_request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, _Token]:
        """Yield the token request; parse, cache and return the token. Call with the lock held."""
        token_request = httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret.get_secret_value(),
                "audience": self.audience,
            },
            headers={"Accept": "application/json"},
            # The same timeouts as the API call; without them httpx would wait forever.
            extensions={
                "timeout": api_request.extensions.get("timeout", {}),
                TOKEN_REQUEST_EXTENSION: True,
            },
        )
        fetched_at = self._clock()
        response = yield token_request
        token = self._parse_token_response(response, fetched_at)
        self._token = token
        return token

    def _parse_token_response(self, response: httpx.Response, fetched_at: float) -> _Token:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code != httpx.codes.OK:
            error_code = None
            description = ""
            if isinstance(body, dict):
                raw_code = body.get("error")
                error_code = self._redact(raw_code)[:100] if isinstance(raw_code, str) else None
                raw_description = body.get("error_description")
                if isinstance(raw_description, str):
                    description = self._redact(raw_description)[:200]
            if response.status_code in (400, 401) and error_code in (
                "invalid_client",
                "unauthorized_client",
                "invalid_grant",
            ):
                reason = "the client id or client secret was not accepted"
            else:
                reason = f"the identity service answered HTTP {response.status_code}"
            if description:
                reason = f"{reason} ({description})"
            raise ThingsAuthError(reason, error_code=error_code, status_code=response.status_code)
        access_token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(access_token, str) or not access_token:
            # Never quote the body: it may hold a token.
            raise ThingsAuthError(
                "the identity service's answer held no access token",
                status_code=response.status_code,
            )
        lifetime = self._lifetime(body, access_token, fetched_at)
        margin = min(self._refresh_margin, lifetime / 2)
        return _Token(
            value=SecretStr(access_token),
            expires_at=fetched_at + lifetime,
            refresh_at=fetched_at + lifetime - margin,
        )

    @staticmethod
    def _lifetime(body: dict[str, Any], access_token: str, fetched_at: float) -> float:
        expires_in = body.get("expires_in")
        if isinstance(expires_in, str):
            try:
                expires_in = float(expires_in)
            except ValueError:
                expires_in = None
        if (
            isinstance(expires_in, int | float)
            and not isinstance(expires_in, bool)
            and expires_in > 0
        ):
            return float(expires_in)
        expiry = _jwt_expiry(access_token)
        if expiry is not None and expiry.timestamp() > fetched_at:
            return expiry.timestamp() - fetched_at
        return FALLBACK_TOKEN_LIFETIME

    def secrets(self) -> list[str]:
        """What must never come back out of this client: the client secret, the access token."""
        token = self._token
        found = [self._client_secret.get_secret_value()]
        return [*found, token.value.get_secret_value()] if token is not None else found

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets())
