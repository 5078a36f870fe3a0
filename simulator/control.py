"""The control API (/_sim/...), not in the specs: how tests and demos steer the simulator.

Faults, the request log, the clock, clients, tokens without a client, and a reset (see
simulator/README.md). Never subject to faults. Open by default (`make run`, the tests); with
a control token configured (SIMULATOR_CONTROL_TOKEN), every /_sim/ request needs it.
"""

import hashlib
import hmac
import logging
from collections.abc import Callable

from werkzeug.wrappers import Request, Response

from simulator.clock import Clock, iso_from_ms
from simulator.faults import FaultInjector, parse_fault_rule
from simulator.oauth import token_body
from simulator.problems import json_response, problem_response
from simulator.request_log import RequestLog
from simulator.store import Store
from simulator.tokens import ALL_SCOPES, CLIENTLESS_SUBJECT, TOKEN_TTL_SECONDS, TokenAuthority
from simulator.validation import InvalidParam, RequestInvalid, parse_json_body

logger = logging.getLogger("simulator.requests")


class ControlApi:
    """The handlers of /_sim/..., and the control token check in front of all of them."""

    def __init__(
        self,
        *,
        control_token: str,
        store: Store,
        clock: Clock,
        faults: FaultInjector,
        request_log: RequestLog,
        tokens: TokenAuthority,
        reset: Callable[[], None],
    ) -> None:
        self._control_token = control_token
        self._store = store
        self._clock = clock
        self._faults = faults
        self._request_log = request_log
        self._tokens = tokens
        self._reset = reset

    def refusal(self, request: Request) -> Response | None:
        """A 401 for a control API request without the control token; None when it may go on.

        Without a configured token the control API is open (on the loopback, `make run` and
        the tests). With one, anyone who can reach the port could otherwise mint tokens, add
        clients, move the clock and inject faults, so every /_sim/ path needs it, unknown
        ones included (a 401 before a 404 tells nothing about what exists). The comparison
        takes the same time however much of the token is right."""
        expected = self._control_token
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

    def faults(self, request: Request, method: str) -> Response:
        """GET lists the fault rules, DELETE clears them, POST adds one."""
        if method == "GET":
            return json_response({"items": [rule.as_json() for rule in self._faults.rules()]})
        if method == "DELETE":
            self._faults.clear()
            return Response(status=204)
        rule = self._faults.add(parse_fault_rule(parse_json_body(request.get_data())))
        return json_response(rule.as_json(), 201)

    def requests(self, method: str) -> Response:
        """GET lists the request log, DELETE clears it."""
        if method == "DELETE":
            self._request_log.clear()
            return Response(status=204)
        return json_response({"items": [entry.as_json() for entry in self._request_log.entries()]})

    def clock(self, request: Request, method: str) -> Response:
        """POST sets the skew or moves time forward; both methods answer the clock's state."""
        if method == "POST":
            self._set_clock(parse_json_body(request.get_data()))
        return json_response(
            {"now": iso_from_ms(self._clock.now_ms()), "offsetSeconds": self._clock.offset_seconds}
        )

    def register_client(self, request: Request) -> Response:
        tenant_id, client_id, secret, scopes = _client_fields(parse_json_body(request.get_data()))
        self._store.register_client(tenant_id, client_id, secret, scopes)
        return json_response(
            {"tenantId": tenant_id, "clientId": client_id, "scopes": list(scopes)}, 201
        )

    def revoke_client(self, request: Request, client_id: str) -> Response:
        if not self._store.revoke_client(client_id):
            return problem_response(request, 404, "There is no client with this id.")
        return Response(status=204)

    def mint_token(self, request: Request) -> Response:
        """A token for any tenant and scopes, without a client."""
        body = parse_json_body(request.get_data())
        if not isinstance(body, dict):
            raise RequestInvalid.single("body", "must be a JSON object")
        tenant = body.get("tenantId", "demo")
        ttl = body.get("ttlSeconds", TOKEN_TTL_SECONDS)
        if not isinstance(tenant, str) or not tenant:
            raise RequestInvalid.single("tenantId", "must be a non-empty string")
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            raise RequestInvalid.single("ttlSeconds", "must be a whole number of seconds")
        scopes = _scopes_from(body.get("scopes"))
        token = self._tokens.issue(tenant, CLIENTLESS_SUBJECT, scopes, ttl_seconds=ttl)
        return json_response(token_body(token, ttl, scopes))

    def reset(self) -> Response:
        self._reset()
        return Response(status=204)

    def _set_clock(self, body: object) -> None:
        if not isinstance(body, dict) or not ({"offsetSeconds", "advanceSeconds"} & body.keys()):
            raise RequestInvalid.single("body", "must hold offsetSeconds or advanceSeconds")
        for name in ("offsetSeconds", "advanceSeconds"):
            value = body.get(name)
            if name in body and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise RequestInvalid.single(name, "must be a number of seconds")
        if "offsetSeconds" in body:
            self._clock.set_offset(float(body["offsetSeconds"]))
        if "advanceSeconds" in body:
            self._clock.advance(float(body["advanceSeconds"]))


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
