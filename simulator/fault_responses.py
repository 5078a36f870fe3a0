"""What an API call gets instead of its answer when a fault rule ends it (see faults.py)."""

import contextlib
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from simulator.faults import HUGE_BODY_END, HUGE_BODY_START, FaultKind, FaultRule
from simulator.problems import problem_response

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

# A body that promises JSON and is not (the "malformed" fault).
MALFORMED_BODY = b'{"items": [{"id": "'


class SimulatedDisconnect(ConnectionAbortedError):
    """Raised by the "disconnect" fault; the threaded server drops the connection quietly."""


def fault_response(request: Request, rule: FaultRule) -> Response:
    """The answer of a rule of one of the UNPROCESSED_KINDS, given in place of the real one."""
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


def drop_connection(environ: "WSGIEnvironment") -> NoReturn:
    """Close the client's connection without an answer (where the server exposes it)."""
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise SimulatedDisconnect("connection dropped on purpose (disconnect fault)")
