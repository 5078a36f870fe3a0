"""The simulator as a plain WSGI application (werkzeug, no Django).

Routes (paths exactly as the specs):

- GET/POST /mqtt/downlinks, GET/DELETE /mqtt/downlinks/{downlinkId}, and the same for /lora/;
- POST /v2/{tenantId}/oidc/idp/c1/token: client-credentials tokens, like KPN's GRIP;
- /_sim/...: the control API for tests and demos (never subject to faults), see
  simulator/README.md. Open by default (`make run`, the tests); with a control token
  configured (SIMULATOR_CONTROL_TOKEN), every /_sim/ request needs it as a bearer token.

Errors are RFC 9457 Problems (application/problem+json); 400s carry an `invalidParams` list.
"""

import contextlib
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulator.clock import Clock, SystemClock, iso_from_ms
from simulator.config import SimulatorSettings
from simulator.faults import (
    HUGE_BODY_END,
    HUGE_BODY_START,
    UNPROCESSED_KINDS,
    FaultInjector,
    FaultKind,
    FaultRule,
    parse_fault_rule,
)
from simulator.lifecycle import Kind, Timings
from simulator.search import SEARCH_PARAMETERS, encode_cursor, paginate, parse_search
from simulator.store import CancelOutcome, Store
from simulator.tokens import (
    ALL_SCOPES,
    DELETE_SCOPE,
    READ_SCOPE,
    TOKEN_TTL_SECONDS,
    WRITE_SCOPE,
    TokenClaims,
    TokenRejected,
    issue_token,
    verify_token,
)
from simulator.validation import (
    InvalidParam,
    RequestInvalid,
    parse_downlink_id,
    parse_forced,
    parse_json_body,
    validate_create,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("simulator.requests")

MAX_BODY_BYTES = 1024 * 1024
_TENANT_KEY = "simulator.tenant"
_SENSITIVE_QUERY_WORDS = ("token", "secret", "password", "assertion")
_KIND_NAMES = {Kind.MQTT: "MQTT", Kind.LORA: "LoRa"}
_SCOPE_PURPOSE = {
    READ_SCOPE: "read downlinks",
    WRITE_SCOPE: "create downlinks",
    DELETE_SCOPE: "cancel downlinks",
}
_PROBLEM_TYPES = {
    400: ("/problems/invalid-request", "Invalid request"),
    401: ("/problems/unauthorized", "Unauthorized"),
    403: ("/problems/forbidden", "Forbidden"),
    404: ("/problems/not-found", "Not found"),
    405: ("/problems/method-not-allowed", "Method not allowed"),
    409: ("/problems/cancellation-not-permitted", "Cancellation not permitted"),
    429: ("/problems/rate-limited", "Too many requests"),
    500: ("/problems/internal-error", "Internal server error"),
}
# A body that promises JSON and is not (the "malformed" fault).
MALFORMED_BODY = b'{"items": [{"id": "'


class SimulatedDisconnect(ConnectionAbortedError):
    """Raised by the "disconnect" fault; the threaded server drops the connection quietly."""


class ProblemError(Exception):
    """Answer the request with this (Problem) response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(
    body: object, status: int = 200, *, content_type: str = "application/json"
) -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type)


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    extra: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An RFC 9457 Problem; `instance` is the request path."""
    problem_type, default_title = _PROBLEM_TYPES.get(
        status, ("about:blank", HTTP_STATUS_CODES.get(status, "Error"))
    )
    body: dict[str, object] = {
        "type": problem_type,
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "instance": quote(request.path, safe="/:@!$&'()*+,;=-._~"),
    }
    body.update(extra or {})
    response = json_response(body, status, content_type="application/problem+json")
    response.headers.extend(dict(headers or {}))
    return response


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    path: str
    query: str
    tenant: str | None
    status: int | None  # None: the connection was dropped
    time: str
    fault: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "tenant": self.tenant,
            "status": self.status,
            "time": self.time,
            "fault": self.fault,
        }


class RequestLog:
    """The API calls the simulator answered (not the control API), newest last; bounded."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestLogEntry] = deque(maxlen=max_entries)

    def append(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[RequestLogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many calls match `method` and the path prefix `path` (both optional)."""
        return sum(
            1
            for entry in self.entries()
            if (method is None or entry.method == method)
            and (path is None or entry.path.startswith(path))
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def redact_query(query: str) -> str:
    """The query string with the values of secret-looking parameters replaced."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(word in name.lower() for name, _ in pairs for word in _SENSITIVE_QUERY_WORDS):
        return query
    return urlencode(
        [
            (name, "[redacted]" if any(w in name.lower() for w in _SENSITIVE_QUERY_WORDS) else v)
            for name, v in pairs
        ]
    )


class _LimitedRequest(Request):
    max_content_length = MAX_BODY_BYTES
    max_form_memory_size = MAX_BODY_BYTES


def _routes() -> Map:
    rules = [
        Rule("/v2/<tenant_id>/oidc/idp/c1/token", endpoint="token", methods=["POST"]),
        Rule("/_sim/faults", endpoint="sim_faults", methods=["GET", "POST", "DELETE"]),
        Rule("/_sim/requests", endpoint="sim_requests", methods=["GET", "DELETE"]),
        Rule("/_sim/clock", endpoint="sim_clock", methods=["GET", "POST"]),
        Rule("/_sim/clients", endpoint="sim_clients", methods=["POST"]),
        Rule("/_sim/clients/<client_id>", endpoint="sim_client", methods=["DELETE"]),
        Rule("/_sim/tokens", endpoint="sim_tokens", methods=["POST"]),
        Rule("/_sim/reset", endpoint="sim_reset", methods=["POST"]),
    ]
    for kind in Kind:
        rules.append(
            Rule(
                f"/{kind.value}/downlinks",
                endpoint=f"{kind.value}:collection",
                methods=["GET", "POST"],
            )
        )
        rules.append(
            Rule(
                f"/{kind.value}/downlinks/<downlink_id>",
                endpoint=f"{kind.value}:item",
                methods=["GET", "DELETE"],
            )
        )
    return Map(rules, merge_slashes=False)


class SimulatorApp:
    """The WSGI callable. Tests reach into `.store`, `.clock`, `.faults` and `.request_log`."""

    def __init__(
        self,
        config: SimulatorSettings,
        store: Store,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.faults = FaultInjector()
        self.request_log = RequestLog()
        self.timings = Timings.from_seconds(
            config.pending_seconds,
            config.executing_seconds,
            config.retry_seconds,
            config.cancel_seconds,
        )
        self._signing_key = config.signing_key or store.signing_key()
        self._cursor_key = hashlib.sha256(b"cursor:" + self._signing_key.encode()).digest()
        self._sleep = sleep
        self._url_map = _routes()

    def __repr__(self) -> str:
        return f"SimulatorApp(database={self.store.path!r})"

    # --- Tokens for tests and the management command --------------------------------------

    def issue_token(
        self,
        tenant: str = "demo",
        scopes: Iterable[str] = ALL_SCOPES,
        *,
        subject: str = "simulator-token",
        ttl_seconds: int = TOKEN_TTL_SECONDS,
    ) -> str:
        """A bearer token signed with this simulator's key, issued at the simulator's now."""
        return issue_token(
            self._signing_key,
            tenant_id=tenant,
            subject=subject,
            audience=self.config.audience,
            scopes=tuple(scopes),
            now_seconds=self.clock.now_ms() // 1000,
            ttl_seconds=ttl_seconds,
        )

    def reset(self) -> None:
        """Wipe downlinks, fault rules and the request log (clients and the key stay)."""
        self.store.wipe_downlinks()
        self.faults.clear()
        self.request_log.clear()

    # --- WSGI ------------------------------------------------------------------------------

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        request = _LimitedRequest(environ)
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            refusal = self._control_refusal(request)
            response = refusal if refusal is not None else self._dispatch(request)
            return response(environ, start_response)
        return self._api_call(request, environ)(environ, start_response)

    def _api_call(self, request: Request, environ: "WSGIEnvironment") -> Response:
        started = time.monotonic()
        received_ms = self.clock.now_ms()
        decision = self.faults.decide(request.method, request.path)
        delay_ms = self.config.latency_ms + decision.delay_ms
        if delay_ms > 0:
            self._sleep(delay_ms / 1000)
        terminal = decision.terminal
        if terminal is not None and terminal.kind is FaultKind.DISCONNECT:
            self._record(request, None, received_ms, started, terminal)
            _drop_connection(environ)
        if terminal is not None and terminal.kind in UNPROCESSED_KINDS:
            response = self._fault_response(request, terminal)
        else:
            response = self._dispatch(request)
            if terminal is not None and terminal.kind is FaultKind.TIMEOUT:
                self._sleep(terminal.delay_ms / 1000)
        self._record(request, response.status_code, received_ms, started, terminal)
        return response

    def _record(
        self,
        request: Request,
        status: int | None,
        received_ms: int,
        started: float,
        fault: FaultRule | None,
    ) -> None:
        query = redact_query(request.query_string.decode("latin-1"))
        tenant = request.environ.get(_TENANT_KEY)
        entry = RequestLogEntry(
            method=request.method,
            path=request.path,
            query=query,
            tenant=tenant,
            status=status,
            time=iso_from_ms(received_ms),
            fault=fault.kind.value if fault is not None else None,
        )
        self.request_log.append(entry)
        logger.info(
            "%s %s%s -> %s (tenant %s, %.0f ms%s)",
            entry.method,
            entry.path,
            f"?{query}" if query else "",
            status if status is not None else "dropped",
            tenant or "-",
            (time.monotonic() - started) * 1000,
            f", fault {entry.fault}" if entry.fault else "",
        )

    def _fault_response(self, request: Request, rule: FaultRule) -> Response:
        if rule.kind is FaultKind.MALFORMED:
            return Response(MALFORMED_BODY, status=200, content_type="application/json")
        if rule.kind is FaultKind.NESTED:
            body = b"[" * rule.depth + b"]" * rule.depth
            return Response(body, status=200, content_type="application/json")
        if rule.kind is FaultKind.HUGE:
            response = Response(
                _padded_page(rule.size_bytes), status=200, content_type="application/json"
            )
            if rule.declare_length:
                response.content_length = rule.size_bytes
            return response
        if rule.kind is FaultKind.RATE_LIMIT:
            return problem_response(
                request,
                429,
                f"Too many requests; try again in {rule.retry_after} "
                f"second{'' if rule.retry_after == 1 else 's'}.",
                headers={"Retry-After": str(rule.retry_after)},
            )
        return problem_response(
            request,
            rule.status,
            f"The service answered {rule.status} (a fault injected in the simulator).",
            title=HTTP_STATUS_CODES.get(rule.status, "Error"),
        )

    def _dispatch(self, request: Request) -> Response:
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            return self._handle(request, str(endpoint), values)
        except NotFound:
            return problem_response(
                request, 404, f"There is nothing at {request.path} in this API."
            )
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(error.valid_methods or []))
            return problem_response(
                request,
                405,
                f"{request.method} is not allowed on {request.path}; allowed: {allowed}.",
                headers={"Allow": allowed},
            )
        except RequestInvalid as error:
            return problem_response(
                request,
                400,
                error.detail,
                extra={
                    "invalidParams": [
                        {"name": param.name, "reason": param.reason} for param in error.params
                    ]
                },
            )
        except ProblemError as error:
            return error.response
        except HTTPException as error:
            status = error.code or 500
            return problem_response(request, status, str(error.description))
        except Exception:
            logger.exception("The simulator failed on %s %s", request.method, request.path)
            return problem_response(request, 500, "The simulator failed unexpectedly.")

    def _handle(self, request: Request, endpoint: str, values: Mapping[str, Any]) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        if ":" in endpoint:
            kind_name, _, shape = endpoint.partition(":")
            kind = Kind(kind_name)
            self.store.materialize(self.clock.now_ms())
            if shape == "collection":
                return (
                    self._search(request, kind) if method == "GET" else self._create(request, kind)
                )
            if method == "GET":
                return self._get(request, kind, values["downlink_id"])
            return self._cancel(request, kind, values["downlink_id"])
        if endpoint == "token":
            return self._token(request, values["tenant_id"])
        return self._control(request, method, endpoint, values)

    # --- Auth ------------------------------------------------------------------------------

    def _unauthorized(
        self, request: Request, detail: str, error: str | None = None
    ) -> ProblemError:
        challenge = 'Bearer realm="things"'
        if error:
            challenge += f', error="{error}"'
        return ProblemError(
            problem_response(request, 401, detail, headers={"WWW-Authenticate": challenge})
        )

    def _authorize(self, request: Request, scope: str) -> TokenClaims:
        header = request.headers.get("Authorization", "")
        if not header.strip():
            raise self._unauthorized(
                request, "This API needs a bearer token: send 'Authorization: Bearer <token>'."
            )
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._unauthorized(
                request,
                "The Authorization header must hold a bearer token ('Bearer <token>').",
                "invalid_request",
            )
        try:
            claims = verify_token(
                self._signing_key,
                token.strip(),
                audience=self.config.audience,
                now_seconds=self.clock.now_ms() // 1000,
            )
        except TokenRejected as rejected:
            raise self._unauthorized(
                request, f"{str(rejected).capitalize()}.", "invalid_token"
            ) from None
        client = self.store.find_client(claims.subject)
        if client is not None and client.revoked:
            raise self._unauthorized(
                request, "The client this token was issued to has been revoked.", "invalid_token"
            )
        request.environ[_TENANT_KEY] = claims.tenant_id
        if scope not in claims.scopes:
            raise ProblemError(
                problem_response(
                    request,
                    403,
                    f"This token lacks the {scope} scope needed to {_SCOPE_PURPOSE[scope]}.",
                    headers={
                        "WWW-Authenticate": (
                            f'Bearer realm="things", error="insufficient_scope", scope="{scope}"'
                        )
                    },
                )
            )
        return claims

    # --- Downlinks -------------------------------------------------------------------------

    def _search(self, request: Request, kind: Kind) -> Response:
        claims = self._authorize(request, READ_SCOPE)
        _refuse_repeated(request, SEARCH_PARAMETERS)
        search = parse_search(kind, request.args, self._cursor_key)
        records = self.store.search_downlinks(kind, claims.tenant_id, search.where)
        page = paginate([record.as_api() for record in records], search)
        body: dict[str, object] = {"items": page.items}
        for name, position in (("next", page.next), ("prev", page.prev)):
            if position is not None:
                cursor = encode_cursor(search, position, self._cursor_key)
                body[name] = f"{request.base_url}?cursor={cursor}"
        return json_response(body)

    def _create(self, request: Request, kind: Kind) -> Response:
        claims = self._authorize(request, WRITE_SCOPE)
        new = validate_create(kind, parse_json_body(request.get_data(cache=True)))
        record = self.store.create_downlink(
            claims.tenant_id, new, self.timings, self.clock.now_ms()
        )
        response = json_response(record.as_api(), 201)
        response.headers["Location"] = f"{request.base_url}/{record.id}"
        return response

    def _not_found(self, request: Request, kind: Kind) -> ProblemError:
        return ProblemError(
            problem_response(
                request, 404, f"There is no {_KIND_NAMES[kind]} downlink with this id."
            )
        )

    def _get(self, request: Request, kind: Kind, raw_id: str) -> Response:
        claims = self._authorize(request, READ_SCOPE)
        record = self.store.get_downlink(kind, claims.tenant_id, parse_downlink_id(raw_id))
        if record is None:
            raise self._not_found(request, kind)
        return json_response(record.as_api())

    def _cancel(self, request: Request, kind: Kind, raw_id: str) -> Response:
        claims = self._authorize(request, DELETE_SCOPE)
        _refuse_repeated(request, ("forced",))
        params: list[InvalidParam] = []
        forced = False
        downlink_id = ""
        try:
            forced = parse_forced(request.args.get("forced"))
        except RequestInvalid as error:
            params += error.params
        try:
            downlink_id = parse_downlink_id(raw_id)
        except RequestInvalid as error:
            params += error.params
        if params:
            raise RequestInvalid(params)
        outcome = self.store.request_cancel(
            kind, claims.tenant_id, downlink_id, forced=forced, now_ms=self.clock.now_ms()
        )
        if outcome is CancelOutcome.NOT_FOUND:
            raise self._not_found(request, kind)
        if outcome is CancelOutcome.EXECUTING:
            return problem_response(
                request,
                409,
                "The downlink is already executing; cancel with forced=true to abort it.",
            )
        if outcome is CancelOutcome.DONE:
            return problem_response(
                request,
                409,
                "The downlink is already done; a finished downlink cannot be cancelled.",
            )
        response = Response(status=202)
        del response.headers["Content-Type"]
        return response

    # --- Token endpoint (GRIP-like) --------------------------------------------------------

    @staticmethod
    def _oauth_error(status: int, error: str, description: str) -> Response:
        response = json_response({"error": error, "error_description": description}, status)
        response.headers["Cache-Control"] = "no-store"
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="things"'
        return response

    def _token(self, request: Request, tenant_id: str) -> Response:
        form = request.form
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization is not None and request.authorization.type == "basic":
            client_id = unquote(request.authorization.username or "")
            client_secret = unquote(request.authorization.password or "")
        grant_type = form.get("grant_type", "")
        if not grant_type:
            return self._oauth_error(400, "invalid_request", "grant_type is required.")
        if grant_type != "client_credentials":
            return self._oauth_error(
                400, "unsupported_grant_type", "Only grant_type=client_credentials is supported."
            )
        if not client_id:
            return self._oauth_error(400, "invalid_request", "client_id is required.")
        audience = form.get("audience", "")
        if audience and audience != self.config.audience:
            return self._oauth_error(
                400, "invalid_target", f"The audience must be {self.config.audience!r}."
            )
        request.environ[_TENANT_KEY] = tenant_id
        client = self.store.authenticate_client(tenant_id, client_id, client_secret)
        if client is None:
            return self._oauth_error(
                401,
                "invalid_client",
                "Client authentication failed: unknown client, wrong secret, or revoked.",
            )
        requested = form.get("scope", "").split()
        if any(scope not in client.scopes for scope in requested):
            return self._oauth_error(
                400,
                "invalid_scope",
                f"This client may only ask for: {' '.join(client.scopes) or 'no scopes'}.",
            )
        scopes = tuple(requested) if requested else client.scopes
        token = issue_token(
            self._signing_key,
            tenant_id=tenant_id,
            subject=client.client_id,
            audience=self.config.audience,
            scopes=scopes,
            now_seconds=self.clock.now_ms() // 1000,
        )
        response = json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_SECONDS,
                "scope": " ".join(scopes),
            }
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    # --- Control API -----------------------------------------------------------------------

    def _control_refusal(self, request: Request) -> Response | None:
        """A 401 for a control API request without the control token; None when it may go on.

        Without a configured token the control API is open (on the loopback, `make run` and
        the tests). With one, anyone who can reach the port could otherwise mint tokens, add
        clients, move the clock and inject faults, so every /_sim/ path needs it, unknown
        ones included (a 401 before a 404 tells nothing about what exists). The comparison
        takes the same time however much of the token is right."""
        expected = self.config.control_token
        if not expected:
            return None
        header = request.headers.get("Authorization", "").strip()
        scheme, _, presented = header.partition(" ")
        if not header:
            detail = (
                "The control API needs the simulator's control token: send "
                "'Authorization: Bearer <SIMULATOR_CONTROL_TOKEN>'."
            )
        elif scheme.lower() != "bearer" or not presented.strip():
            detail = "The Authorization header must hold the control token ('Bearer <token>')."
        elif hmac.compare_digest(
            # Header values arrive decoded as Latin-1: this gives back the bytes sent. Digests,
            # so that not even the token's length shows in the time taken.
            hashlib.sha256(presented.strip().encode("latin-1", errors="replace")).digest(),
            hashlib.sha256(expected.encode()).digest(),
        ):
            return None
        else:
            detail = "This is not the simulator's control token."
        logger.warning("Refused %s %s: no valid control token.", request.method, request.path)
        return problem_response(
            request, 401, detail, headers={"WWW-Authenticate": 'Bearer realm="simulator-control"'}
        )

    def _control(
        self, request: Request, method: str, endpoint: str, values: Mapping[str, Any]
    ) -> Response:
        if endpoint == "sim_faults":
            if method == "GET":
                return json_response({"items": [rule.as_json() for rule in self.faults.rules()]})
            if method == "DELETE":
                self.faults.clear()
                return Response(status=204)
            rule = self.faults.add(parse_fault_rule(parse_json_body(request.get_data())))
            return json_response(rule.as_json(), 201)
        if endpoint == "sim_requests":
            if method == "DELETE":
                self.request_log.clear()
                return Response(status=204)
            return json_response(
                {"items": [entry.as_json() for entry in self.request_log.entries()]}
            )
        if endpoint == "sim_clock":
            if method == "POST":
                self._set_clock(parse_json_body(request.get_data()))
            return json_response(
                {
                    "now": iso_from_ms(self.clock.now_ms()),
                    "offsetSeconds": self.clock.offset_seconds,
                }
            )
        if endpoint == "sim_clients":
            tenant_id, client_id, secret, scopes = _client_fields(
                parse_json_body(request.get_data())
            )
            self.store.register_client(tenant_id, client_id, secret, scopes)
            return json_response(
                {"tenantId": tenant_id, "clientId": client_id, "scopes": list(scopes)}, 201
            )
        if endpoint == "sim_client":
            if not self.store.revoke_client(values["client_id"]):
                return problem_response(request, 404, "There is no client with this id.")
            return Response(status=204)
        if endpoint == "sim_tokens":
            return self._control_token(parse_json_body(request.get_data()))
        self.reset()
        return Response(status=204)

    def _set_clock(self, body: object) -> None:
        if not isinstance(body, dict) or not ({"offsetSeconds", "advanceSeconds"} & body.keys()):
            raise RequestInvalid.single("body", "must hold offsetSeconds or advanceSeconds")
        for name in ("offsetSeconds", "advanceSeconds"):
            value = body.get(name)
            if name in body and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise RequestInvalid.single(name, "must be a number of seconds")
        if "offsetSeconds" in body:
            self.clock.set_offset(float(body["offsetSeconds"]))
        if "advanceSeconds" in body:
            self.clock.advance(float(body["advanceSeconds"]))

    def _control_token(self, body: object) -> Response:
        if not isinstance(body, dict):
            raise RequestInvalid.single("body", "must be a JSON object")
        tenant = body.get("tenantId", "demo")
        ttl = body.get("ttlSeconds", TOKEN_TTL_SECONDS)
        if not isinstance(tenant, str) or not tenant:
            raise RequestInvalid.single("tenantId", "must be a non-empty string")
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            raise RequestInvalid.single("ttlSeconds", "must be a whole number of seconds")
        scopes = _scopes_from(body.get("scopes"))
        token = self.issue_token(tenant, scopes, ttl_seconds=ttl)
        return json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": " ".join(scopes),
            }
        )


def _refuse_repeated(request: Request, names: Iterable[str]) -> None:
    """Each of these query parameters holds one value; sending one twice is ambiguous."""
    repeated = [name for name in names if len(request.args.getlist(name)) > 1]
    if repeated:
        raise RequestInvalid([InvalidParam(name, "must be given only once") for name in repeated])


def _scopes_from(value: object) -> tuple[str, ...]:
    """Scopes from a list or a space/comma separated string; all of them when absent."""
    if value is None:
        return ALL_SCOPES
    if isinstance(value, str):
        scopes = tuple(value.replace(",", " ").split())
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        scopes = tuple(value)
    else:
        raise RequestInvalid.single("scopes", "must be a list of scope names")
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown:
        raise RequestInvalid.single(
            "scopes", f"holds unknown scopes {unknown}; known: {', '.join(ALL_SCOPES)}"
        )
    return scopes


def _client_fields(body: object) -> tuple[str, str, str, tuple[str, ...]]:
    if not isinstance(body, dict):
        raise RequestInvalid.single("body", "must be a JSON object")
    params = [
        InvalidParam(name, "is required (a non-empty string)")
        for name in ("tenantId", "clientId", "clientSecret")
        if not isinstance(body.get(name), str) or not body.get(name)
    ]
    if params:
        raise RequestInvalid(params)
    return (
        str(body["tenantId"]),
        str(body["clientId"]),
        str(body["clientSecret"]),
        _scopes_from(body.get("scopes")),
    )


def _padded_page(size_bytes: int, chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """A valid, empty JSON page of exactly `size_bytes`, padded with whitespace (the "huge"
    fault), in chunks: an absurd size costs the simulator no memory."""
    yield HUGE_BODY_START
    padding = size_bytes - len(HUGE_BODY_START) - len(HUGE_BODY_END)
    chunk = b" " * chunk_bytes
    while padding > 0:
        yield chunk[:padding]
        padding -= chunk_bytes
    yield HUGE_BODY_END


def _drop_connection(environ: "WSGIEnvironment") -> NoReturn:
    """Close the client's connection without an answer (where the server exposes it)."""
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise SimulatedDisconnect("connection dropped on purpose (disconnect fault)")


def create_app(
    config: SimulatorSettings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] | None = None,
) -> SimulatorApp:
    """The simulator; `store`, `clock` and `sleep` default to the config's database, the
    system clock with the config's offset, and time.sleep (tests pass fakes)."""
    return SimulatorApp(
        config,
        store if store is not None else Store(config.database),
        clock if clock is not None else SystemClock(config.clock_offset_seconds),
        sleep if sleep is not None else time.sleep,
    )
