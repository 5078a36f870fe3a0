"""The client of the Things MQTT and LoRa Downlinks APIs.

One `ThingsClient` holds one `httpx.Client` (connection pool, base URL, timeouts, auth), reused
for every call; `client.lora` and `client.mqtt` hang off it:

    with ThingsClient("https://api.kpnthings.com", StaticBearerToken(jwt)) as client:
        page = client.lora.search(SearchFilters(status="PENDING", sort="-createdAt", limit=20))
        downlink = client.mqtt.create(NewMqttDownlink(...))

Every failure is one of the exceptions in `errors.py`. Reads (GET) are retried according to the
`RetryPolicy`; creates and cancels never are (see `retry.py`). Each HTTP attempt is logged as one
line on the "things_api" logger (method, path, status, milliseconds; never headers, query
strings or tokens) and reported to the optional `observer` as a `RequestRecord`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Final, Protocol, Self
from uuid import UUID

import httpx
from pydantic import BaseModel, ValidationError

from things_api.auth import is_token_request
from things_api.deadline import Budget, current_budget
from things_api.errors import (
    ThingsAuthError,
    ThingsConnectionError,
    ThingsError,
    ThingsLinkError,
    ThingsResponseError,
    ThingsTimeoutError,
    ThingsTransportError,
    api_error_class,
)
from things_api.models import (
    OWNED_JSON,
    LoraDownlink,
    MqttDownlink,
    NewLoraDownlink,
    NewMqttDownlink,
    Page,
    Problem,
    SearchFilters,
)
from things_api.redaction import redact, redact_json
from things_api.retry import RetryPolicy, parse_retry_after

logger = logging.getLogger("things_api")

DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
DEFAULT_RETRY: Final = RetryPolicy()
DEFAULT_USER_AGENT: Final = "things-portal/0.1"
PRODUCTION_BASE_URL: Final = "https://api.kpnthings.com"
# A page of 500 downlinks is well under 1 MB; an answer beyond this is not read any further.
MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024
# An attempt that would start with less than this left of the time budget is not made.
MIN_ATTEMPT_SECONDS: Final = 0.05
# Headers that describe the body as it came over the wire, not the decoded body we keep.
_WIRE_BODY_HEADERS: Final = frozenset({"content-encoding", "content-length", "transfer-encoding"})

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP attempt, for Server-Timing headers and benchmarks.

    Exactly one of `status` (the HTTP status) and `error` (what went wrong instead: "connect",
    "timeout", "protocol", "auth") is set. `path` never includes the query string.
    """

    method: str
    path: str
    status: int | None
    error: str | None
    elapsed: float
    attempt: int


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


class Pace(Protocol):
    """A caller's rate, kept at the wire: `before_send` right before each attempt goes out
    (after the auth flow: a token fetched first is not counted), `rate_limited` as soon as a
    429's headers arrive, with its Retry-After in seconds (None if it gave none)."""

    def before_send(self) -> None: ...

    def rate_limited(self, retry_after: float | None) -> None: ...


# The request extension that carries a `Pace` to the event hooks below.
PACE = "things_api.pace"


def _pace_before_send(request: httpx.Request) -> None:
    """httpx calls its request hooks after the auth flow, right before the transport."""
    pace: Pace | None = request.extensions.get(PACE)
    if pace is not None:
        pace.before_send()


def _pace_on_answer(response: httpx.Response) -> None:
    pace: Pace | None = response.request.extensions.get(PACE)
    if pace is not None and response.status_code == httpx.codes.TOO_MANY_REQUESTS:
        pace.rate_limited(parse_retry_after(response.headers.get("Retry-After"), now=time.time()))


def _request_of(exc: httpx.RequestError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


def _snippet(response: httpx.Response, secrets: list[str]) -> str:
    return redact(response.text[:2000], secrets)[:200]


def _within(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    """`timeout` with every phase cut to at most `seconds`."""

    def cut(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx.Timeout(
        connect=cut(timeout.connect),
        read=cut(timeout.read),
        write=cut(timeout.write),
        pool=cut(timeout.pool),
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _first_error(error: ValidationError) -> str:
    details = error.errors(include_url=False, include_input=False)
    if not details:
        return "unexpected shape"
    first = details[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"unexpected shape at {where}: {first['msg']}{more}"


class ThingsClient:
    """A client of both Things Downlinks APIs. Use it as a context manager, or call `close()`.

    `sleep` is called with the delay before each retry (inject a fake in tests). `observer` is
    called with a `RequestRecord` after each HTTP attempt.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        observer: Callable[[RequestRecord], None] | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.auth = auth
        self.timeout = timeout
        self.retry = retry
        self.max_response_bytes = max_response_bytes
        self._sleep = sleep
        self._observer = observer
        self._http = httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # A redirect is unexpected; never carry the token along.
            event_hooks={"request": [_pace_before_send], "response": [_pace_on_answer]},
            headers={
                "User-Agent": user_agent,
                "Accept": "application/json, application/problem+json",
            },
        )
        self.lora = LoraDownlinks(self)
        self.mqtt = MqttDownlinks(self)

    @property
    def base_url(self) -> httpx.URL:
        return self._http.base_url

    def __repr__(self) -> str:
        return f"ThingsClient(base_url={str(self.base_url)!r}, auth={self.auth!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def check_connection(self) -> None:
        """One cheap read (a LoRa search for one item, no retries) for a "test connection" button.

        Returns if the API answered and accepted the credential; raises a ThingsError otherwise.
        """
        self.lora._search(SearchFilters(limit=1), retry=RetryPolicy.never())

    # -- plumbing ------------------------------------------------------------------------------

    def known_secrets(self) -> list[str]:
        """The auth's secrets, to take out of whatever upstream says (see redaction.py)."""
        known = getattr(self.auth, "secrets", None)
        return list(known()) if callable(known) else []

    def same_origin_url(self, link: str) -> httpx.URL:
        """`link` (absolute or relative) as a URL, if it points at the base URL's origin."""
        try:
            url = self._http.base_url.join(link)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise ThingsLinkError() from None
        if _origin(url) != _origin(self._http.base_url) or url.userinfo:
            raise ThingsLinkError()
        return url

    def request(
        self,
        method: str,
        target: str | httpx.URL,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        retry: RetryPolicy | None = None,
        pace: Pace | None = None,
    ) -> httpx.Response:
        """Send a request, retrying idempotent ones; return a 2xx response or raise.

        `pace` is told right before each attempt goes on the wire and as soon as a 429 comes
        back (see `Pace`), so a rate is kept as close to the requests as it can be.

        Inside a `time_budget`, every attempt's timeouts are cut to what is left of it, and a
        retry that would overrun it is not made. The body is read here, at most
        `max_response_bytes` of it.
        """
        policy = retry if retry is not None else self.retry
        budget = current_budget()
        attempt = 0
        previous_delay: float | None = None
        while True:
            attempt += 1
            timeout = self.timeout
            if budget is not None:
                left = budget.remaining()
                if left < MIN_ATTEMPT_SECONDS:
                    raise ThingsTimeoutError(
                        method=method,
                        path=httpx.URL(str(target)).path,
                        may_have_reached_server=False,
                        phase="deadline",
                        seconds=budget.seconds,
                    )
                timeout = _within(self.timeout, left)
            request = self._http.build_request(
                method,
                target,
                params=params,
                json=json,
                timeout=timeout,
                extensions={PACE: pace} if pace is not None else None,
            )
            path = request.url.path
            started = time.perf_counter()
            try:
                response = self._read_body(self._http.send(request, stream=True), budget)
            except ThingsAuthError:
                self._record(method, path, None, "auth", started, attempt)
                raise
            except ThingsResponseError as too_large:
                self._record(method, path, too_large.status_code, None, started, attempt)
                raise
            except httpx.RequestError as exc:
                error = self._transport_error(exc, method, path, timeout, budget)
                kind = "auth" if isinstance(error, ThingsAuthError) else _error_kind(error)
                self._record(method, path, None, kind, started, attempt)
                delay = None
                if isinstance(error, ThingsTransportError) and policy.may_retry_method(method):
                    delay = policy.next_delay(attempt=attempt, previous_delay=previous_delay)
                if delay is None or not _fits(budget, delay):
                    raise error from exc
                previous_delay = delay
                self._sleep(delay)
                continue
            status = response.status_code
            self._record(method, path, status, None, started, attempt)
            if response.is_success:
                return response
            if policy.may_retry_status(method, status):
                delay = policy.next_delay(
                    attempt=attempt,
                    retry_after=response.headers.get("Retry-After"),
                    previous_delay=previous_delay,
                )
                if delay is not None and _fits(budget, delay):
                    previous_delay = delay
                    self._sleep(delay)
                    continue
            raise self._status_error(response, method, path, policy)

    def _read_body(self, response: httpx.Response, budget: Budget | None) -> httpx.Response:
        """The response with its body read: at most `max_response_bytes` of it (decoded), and
        not past the time budget (a server trickling bytes would outlast every read timeout)."""
        request = response.request
        chunks: list[bytes] = []
        size = 0
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                raise self._too_large(response)
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise self._too_large(response)
                if budget is not None and budget.remaining() <= 0:
                    raise httpx.ReadTimeout("the time budget ran out mid-answer", request=request)
                chunks.append(chunk)
        finally:
            response.close()
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in _WIRE_BODY_HEADERS
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=b"".join(chunks), request=request
        )

    def _too_large(self, response: httpx.Response) -> ThingsResponseError:
        return ThingsResponseError(
            method=response.request.method,
            path=response.request.url.path,
            status_code=response.status_code,
            reason=f"the answer is larger than {_megabytes(self.max_response_bytes)}",
        )

    def _record(
        self,
        method: str,
        path: str,
        status: int | None,
        error: str | None,
        started: float,
        attempt: int,
    ) -> None:
        elapsed = time.perf_counter() - started
        outcome = str(status) if status is not None else error
        level = logging.INFO if status is not None and status < 400 else logging.WARNING
        logger.log(
            level,
            "%s %s %s %.0fms attempt=%d",
            method,
            path,
            outcome,
            elapsed * 1000,
            attempt,
        )
        if self._observer is not None:
            record = RequestRecord(method, path, status, error, elapsed, attempt)
            try:
                self._observer(record)
            except Exception:
                logger.exception("the request observer failed")

    def _transport_error(
        self,
        exc: httpx.RequestError,
        method: str,
        path: str,
        timeout: httpx.Timeout,
        budget: Budget | None,
    ) -> ThingsTransportError | ThingsAuthError:
        failed = _request_of(exc)
        if failed is not None and is_token_request(failed):
            if isinstance(exc, httpx.TimeoutException):
                return ThingsAuthError("the identity service did not answer in time")
            return ThingsAuthError("the identity service could not be reached")
        if isinstance(exc, httpx.TimeoutException):
            if isinstance(exc, httpx.ConnectTimeout):
                phase, seconds, reached = "connect", timeout.connect, False
            elif isinstance(exc, httpx.PoolTimeout):
                phase, seconds, reached = "pool", timeout.pool, False
            elif isinstance(exc, httpx.WriteTimeout):
                phase, seconds, reached = "write", timeout.write, True
            else:
                phase, seconds, reached = "read", timeout.read, True
            if budget is not None and budget.remaining() < MIN_ATTEMPT_SECONDS:
                # Cut short by the budget: say how long was waited in all, not the last cut.
                seconds = budget.seconds
            return ThingsTimeoutError(
                method=method,
                path=path,
                may_have_reached_server=reached,
                phase=phase,
                seconds=seconds,
            )
        # Nothing was sent when the connection could not be made, the URL or protocol is
        # unusable or a proxy refused; in every other case (a connection that broke while
        # sending or receiving, a mangled answer) the API may have acted on the request.
        not_sent = (
            httpx.ConnectError,
            httpx.UnsupportedProtocol,
            httpx.ProxyError,
            httpx.LocalProtocolError,
        )
        return ThingsConnectionError(
            method=method,
            path=path,
            may_have_reached_server=not isinstance(exc, not_sent),
            reason=type(exc).__name__,
        )

    def _status_error(
        self, response: httpx.Response, method: str, path: str, policy: RetryPolicy
    ) -> ThingsError:
        status = response.status_code
        if status < 400:
            return ThingsResponseError(
                method=method,
                path=path,
                status_code=status,
                reason=f"unexpected HTTP {status}",
                snippet=_snippet(response, self.known_secrets()),
            )
        problem = self._things_problem(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=policy.clock())
        return api_error_class(status)(
            status_code=status,
            problem=problem,
            retry_after=retry_after,
            method=method,
            path=path,
        )

    def _things_problem(self, response: httpx.Response) -> Problem | None:
        """The answer's Problem, only when it looks like one the Things API itself writes.

        That is `application/problem+json` whose `status` is the HTTP status. Anything else (a
        proxy's error page, some other service's JSON) is reported by its status alone, so that
        a URL pointed at the wrong place cannot be used to read what that place says.
        """
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type != "application/problem+json":
            return None
        try:
            body = response.json()
        except (ValueError, RecursionError):
            return None
        if not isinstance(body, dict) or body.get("status") != response.status_code:
            return None
        try:
            return Problem.model_validate(redact_json(body, self.known_secrets()))
        except ValidationError:
            return None

    def parse[M: BaseModel](self, response: httpx.Response, model: type[M]) -> M:
        """Validate a 2xx JSON body as `model`, or raise ThingsResponseError."""

        def unusable(reason: str, snippet: str = "") -> ThingsResponseError:
            return ThingsResponseError(
                method=response.request.method,
                path=response.request.url.path,
                status_code=response.status_code,
                reason=reason,
                snippet=snippet,
            )

        try:
            return model.model_validate(response.json(), context={OWNED_JSON: True})
        except RecursionError:  # from the JSON parser or the validation, of a silly depth
            raise unusable("the JSON is nested too deeply") from None
        except ValidationError as exc:
            snippet = _snippet(response, self.known_secrets())
            raise unusable(_first_error(exc), snippet) from None
        except ValueError:
            raise unusable(
                "the body is not JSON", _snippet(response, self.known_secrets())
            ) from None


def _fits(budget: Budget | None, delay: float) -> bool:
    """Whether waiting `delay` seconds still leaves time for another attempt."""
    return budget is None or delay + MIN_ATTEMPT_SECONDS < budget.remaining()


def _error_kind(error: ThingsTransportError) -> str:
    if isinstance(error, ThingsTimeoutError):
        return "timeout"
    if isinstance(error, ThingsConnectionError) and error.may_have_reached_server:
        return "protocol"
    return "connect"


class DownlinkResource[
    D: (LoraDownlink, MqttDownlink),
    N: (NewLoraDownlink, NewMqttDownlink),
]:
    """The operations of one Downlinks API (`/lora/downlinks` or `/mqtt/downlinks`)."""

    collection: ClassVar[str]
    downlink_model: type[D]
    page_model: type[Page[D]]
    new_model: type[N]

    def __init__(self, client: ThingsClient) -> None:
        self._client = client

    def search(self, filters: SearchFilters | None = None) -> Page[D]:
        """One page of downlinks matching `filters` (all filters optional)."""
        return self._search(filters or SearchFilters(), retry=None)

    def _search(self, filters: SearchFilters, *, retry: RetryPolicy | None) -> Page[D]:
        response = self._client.request(
            "GET", self.collection, params=filters.to_query(), retry=retry
        )
        return self._client.parse(response, self.page_model)

    def search_page(self, link: str) -> Page[D]:
        """Follow a `next` or `prev` link of a page; only links to the API's own origin."""
        url = self._client.same_origin_url(link)
        response = self._client.request("GET", url)
        return self._client.parse(response, self.page_model)

    def iter_search(self, filters: SearchFilters | None = None) -> Iterator[D]:
        """Every matching downlink, following `next` links until the last page."""
        page = self.search(filters)
        seen: set[str] = set()
        while True:
            yield from page.items
            if not page.next:
                return
            if page.next in seen:
                raise ThingsResponseError(
                    method="GET",
                    path=self.collection,
                    status_code=200,
                    reason="the pages link back to a page already read",
                )
            seen.add(page.next)
            page = self.search_page(page.next)

    def get(self, downlink_id: UUID | str) -> D:
        """One downlink by its id. Raises ValueError if the id is not a UUID."""
        response = self._client.request("GET", self._one(downlink_id))
        return self._client.parse(response, self.downlink_model)

    def create(self, new: N, *, pace: Pace | None = None) -> D:
        """Create a downlink; the API answers 201 with it. Never retried (see retry.py).
        `pace`: see `ThingsClient.request`."""
        if not isinstance(new, self.new_model):
            raise TypeError(f"expected a {self.new_model.__name__}, got {type(new).__name__}")
        response = self._client.request("POST", self.collection, json=new.to_wire(), pace=pace)
        return self._client.parse(response, self.downlink_model)

    def cancel(self, downlink_id: UUID | str, *, forced: bool = False) -> None:
        """Ask for cancellation (202: accepted, carried out later). 409 → ThingsConflict.

        202 is the spec's only success: any other 2xx says something else happened, which we
        cannot tell apart from a lost answer (a ThingsResponseError whose outcome is unknown).
        Never retried (see retry.py).
        """
        params = {"forced": "true"} if forced else None
        response = self._client.request("DELETE", self._one(downlink_id), params=params)
        if response.status_code != httpx.codes.ACCEPTED:
            raise ThingsResponseError(
                method="DELETE",
                path=response.request.url.path,
                status_code=response.status_code,
                reason=f"HTTP {response.status_code} instead of 202 Accepted",
                snippet=_snippet(response, self._client.known_secrets()),
            )

    def _one(self, downlink_id: UUID | str) -> str:
        try:
            canonical = downlink_id if isinstance(downlink_id, UUID) else UUID(downlink_id)
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"{downlink_id!r} is not a downlink id (a UUID)") from None
        return f"{self.collection}/{canonical}"


class LoraDownlinks(DownlinkResource[LoraDownlink, NewLoraDownlink]):
    collection = "/lora/downlinks"
    downlink_model = LoraDownlink
    page_model = Page[LoraDownlink]
    new_model = NewLoraDownlink


class MqttDownlinks(DownlinkResource[MqttDownlink, NewMqttDownlink]):
    collection = "/mqtt/downlinks"
    downlink_model = MqttDownlink
    page_model = Page[MqttDownlink]
    new_model = NewMqttDownlink
