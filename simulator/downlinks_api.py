"""The MQTT and LoRa Downlinks APIs of the specs: search, create, read and cancel downlinks.

Every call needs a bearer token with the operation's scope; a downlink is visible only to the
tenant that made it (any other id is a 404, as if it did not exist).
"""

from collections.abc import Iterable

from werkzeug.wrappers import Request, Response

from simulator.clock import Clock
from simulator.lifecycle import Kind, Timings
from simulator.problems import ProblemError, json_response, problem_response
from simulator.request_log import note_tenant
from simulator.search import SEARCH_PARAMETERS, encode_cursor, paginate, parse_search
from simulator.store import CancelOutcome, Store
from simulator.tokens import (
    DELETE_SCOPE,
    READ_SCOPE,
    WRITE_SCOPE,
    TokenAuthority,
    TokenClaims,
    TokenRejected,
)
from simulator.validation import (
    InvalidParam,
    RequestInvalid,
    parse_downlink_id,
    parse_forced,
    parse_json_body,
    validate_create,
)

_KIND_NAMES = {Kind.MQTT: "MQTT", Kind.LORA: "LoRa"}
_SCOPE_PURPOSE = {
    READ_SCOPE: "read downlinks",
    WRITE_SCOPE: "create downlinks",
    DELETE_SCOPE: "cancel downlinks",
}


class DownlinksApi:
    """The handlers of /{mqtt,lora}/downlinks and /{mqtt,lora}/downlinks/{downlinkId}."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        tokens: TokenAuthority,
        timings: Timings,
        cursor_key: bytes,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens
        self._timings = timings
        self._cursor_key = cursor_key

    def collection(self, request: Request, method: str, kind: Kind) -> Response:
        """GET searches the tenant's downlinks, POST creates one."""
        self._store.materialize(self._clock.now_ms())
        return self._search(request, kind) if method == "GET" else self._create(request, kind)

    def item(self, request: Request, method: str, kind: Kind, raw_id: str) -> Response:
        """GET reads one downlink, DELETE asks to cancel it."""
        self._store.materialize(self._clock.now_ms())
        if method == "GET":
            return self._get(request, kind, raw_id)
        return self._cancel(request, kind, raw_id)

    # --- Auth ------------------------------------------------------------------------------

    def _authorize(self, request: Request, scope: str) -> TokenClaims:
        header = request.headers.get("Authorization", "")
        if not header.strip():
            raise _unauthorized(
                request, "This API needs a bearer token: send 'Authorization: Bearer <token>'."
            )
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized(
                request,
                "The Authorization header must hold a bearer token ('Bearer <token>').",
                "invalid_request",
            )
        try:
            claims = self._tokens.verify(token.strip())
        except TokenRejected as rejected:
            raise _unauthorized(
                request, f"{str(rejected).capitalize()}.", "invalid_token"
            ) from None
        client = self._store.find_client(claims.subject)
        if client is not None and client.revoked:
            raise _unauthorized(
                request, "The client this token was issued to has been revoked.", "invalid_token"
            )
        note_tenant(request, claims.tenant_id)
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
        records = self._store.search_downlinks(kind, claims.tenant_id, search.where)
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
        record = self._store.create_downlink(
            claims.tenant_id, new, self._timings, self._clock.now_ms()
        )
        response = json_response(record.as_api(), 201)
        response.headers["Location"] = f"{request.base_url}/{record.id}"
        return response

    def _get(self, request: Request, kind: Kind, raw_id: str) -> Response:
        claims = self._authorize(request, READ_SCOPE)
        record = self._store.get_downlink(kind, claims.tenant_id, parse_downlink_id(raw_id))
        if record is None:
            raise _not_found(request, kind)
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
        outcome = self._store.request_cancel(
            kind, claims.tenant_id, downlink_id, forced=forced, now_ms=self._clock.now_ms()
        )
        if outcome is CancelOutcome.NOT_FOUND:
            raise _not_found(request, kind)
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


def _unauthorized(request: Request, detail: str, error: str | None = None) -> ProblemError:
    challenge = 'Bearer realm="things"'
    if error:
        challenge += f', error="{error}"'
    return ProblemError(
        problem_response(request, 401, detail, headers={"WWW-Authenticate": challenge})
    )


def _not_found(request: Request, kind: Kind) -> ProblemError:
    return ProblemError(
        problem_response(request, 404, f"There is no {_KIND_NAMES[kind]} downlink with this id.")
    )


def _refuse_repeated(request: Request, names: Iterable[str]) -> None:
    """Each of these query parameters holds one value; sending one twice is ambiguous."""
    repeated = [name for name in names if len(request.args.getlist(name)) > 1]
    if repeated:
        raise RequestInvalid([InvalidParam(name, "must be given only once") for name in repeated])
