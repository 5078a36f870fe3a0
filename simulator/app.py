"""The simulator as a plain WSGI application (werkzeug, no Django): the URL map and dispatch.

Routes (paths exactly as the specs):

- GET/POST /mqtt/downlinks, GET/DELETE /mqtt/downlinks/{downlinkId}, and the same for /lora/
  (downlinks_api.py);
- POST /v2/{tenantId}/oidc/idp/c1/token: client-credentials tokens, like KPN's GRIP (oauth.py);
- /_sim/...: the control API for tests and demos, never subject to faults (control.py).

API calls pass the fault rules (faults.py, fault_responses.py) and are recorded in the request
log (request_log.py). Errors are RFC 9457 Problems (problems.py); 400s carry `invalidParams`.
"""

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulator.clock import Clock, SystemClock
from simulator.config import SimulatorSettings
from simulator.control import ControlApi
from simulator.downlinks_api import DownlinksApi
from simulator.fault_responses import drop_connection, fault_response
from simulator.faults import UNPROCESSED_KINDS, FaultInjector, FaultKind
from simulator.lifecycle import Kind, Timings
from simulator.oauth import TokenEndpoint
from simulator.problems import ProblemError, problem_response
from simulator.request_log import RequestLog, record_request
from simulator.store import Store
from simulator.tokens import ALL_SCOPES, CLIENTLESS_SUBJECT, TOKEN_TTL_SECONDS, TokenAuthority
from simulator.validation import RequestInvalid

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("simulator.requests")

MAX_BODY_BYTES = 1024 * 1024


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
        signing_key = config.signing_key or store.signing_key()
        self._tokens = TokenAuthority(signing_key, config.audience, clock)
        self._downlinks = DownlinksApi(
            store,
            clock,
            self._tokens,
            self.timings,
            cursor_key=hashlib.sha256(b"cursor:" + signing_key.encode()).digest(),
        )
        self._token_endpoint = TokenEndpoint(store, self._tokens)
        self._control = ControlApi(
            control_token=config.control_token,
            store=store,
            clock=clock,
            faults=self.faults,
            request_log=self.request_log,
            tokens=self._tokens,
            reset=self.reset,
        )
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
        subject: str = CLIENTLESS_SUBJECT,
        ttl_seconds: int = TOKEN_TTL_SECONDS,
    ) -> str:
        """A bearer token signed with this simulator's key, issued at the simulator's now."""
        return self._tokens.issue(tenant, subject, scopes, ttl_seconds=ttl_seconds)

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
            refusal = self._control.refusal(request)
            response = refusal if refusal is not None else self._dispatch(request)
            return response(environ, start_response)
        return self._api_call(request, environ)(environ, start_response)

    def _api_call(self, request: Request, environ: "WSGIEnvironment") -> Response:
        """An API call: through the fault rules, then dispatched, then recorded in the log."""
        started = time.monotonic()
        received_ms = self.clock.now_ms()
        decision = self.faults.decide(request.method, request.path)
        delay_ms = self.config.latency_ms + decision.delay_ms
        if delay_ms > 0:
            self._sleep(delay_ms / 1000)
        terminal = decision.terminal
        if terminal is not None and terminal.kind is FaultKind.DISCONNECT:
            record_request(self.request_log, request, None, received_ms, started, terminal)
            drop_connection(environ)
        if terminal is not None and terminal.kind in UNPROCESSED_KINDS:
            response = fault_response(request, terminal)
        else:
            response = self._dispatch(request)
            if terminal is not None and terminal.kind is FaultKind.TIMEOUT:
                self._sleep(terminal.delay_ms / 1000)
        record_request(
            self.request_log, request, response.status_code, received_ms, started, terminal
        )
        return response

    def _dispatch(self, request: Request) -> Response:
        """The answer of the route `request` matches, with every failure as a Problem."""
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
            if shape == "collection":
                return self._downlinks.collection(request, method, kind)
            return self._downlinks.item(request, method, kind, values["downlink_id"])
        match endpoint:
            case "token":
                return self._token_endpoint.issue(request, values["tenant_id"])
            case "sim_faults":
                return self._control.faults(request, method)
            case "sim_requests":
                return self._control.requests(method)
            case "sim_clock":
                return self._control.clock(request, method)
            case "sim_clients":
                return self._control.register_client(request)
            case "sim_client":
                return self._control.revoke_client(request, values["client_id"])
            case "sim_tokens":
                return self._control.mint_token(request)
            case _:  # "sim_reset", the one endpoint left
                return self._control.reset()


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
