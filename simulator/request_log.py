"""The request log: the API calls the simulator answered, for tests and `/_sim/requests`.

Each call is also logged (logger `simulator.requests`) in one line, with secret-looking query
values redacted and never a header, so neither the log nor the lines give a credential away.
"""

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from simulator.clock import iso_from_ms
from simulator.faults import FaultRule

logger = logging.getLogger("simulator.requests")

# The calls whose body the log keeps: the two creates.
CREATE_PATHS = frozenset({"/lora/downlinks", "/mqtt/downlinks"})
_SENSITIVE_QUERY_WORDS = ("token", "secret", "password", "assertion")
# Where a handler leaves the tenant it found (in a token or a token request) for the log.
_TENANT_KEY = "simulator.tenant"


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    path: str
    query: str
    tenant: str | None
    status: int | None  # None: the connection was dropped
    time: str
    fault: str | None = None
    # A create's JSON body as received (what a client sent, to compare with what it showed);
    # None for every other call. Token requests, which carry secrets, never have one.
    body: Any = None

    def as_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "tenant": self.tenant,
            "status": self.status,
            "time": self.time,
            "fault": self.fault,
            "body": self.body,
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


def note_tenant(request: Request, tenant_id: str) -> None:
    """Name the tenant this request acts for in its log entry."""
    request.environ[_TENANT_KEY] = tenant_id


def record_request(
    log: RequestLog,
    request: Request,
    status: int | None,
    received_ms: int,
    started: float,
    fault: FaultRule | None,
) -> None:
    """Add the answered call to `log` and log its line; `started` is its time.monotonic()."""
    query = redact_query(request.query_string.decode("latin-1"))
    tenant = request.environ.get(_TENANT_KEY)
    body = None
    if request.method == "POST" and request.path in CREATE_PATHS:
        try:
            body = request.get_json(silent=True)
        except HTTPException:  # too large to read: refused, and not kept
            body = None
    entry = RequestLogEntry(
        body=body,
        method=request.method,
        path=request.path,
        query=query,
        tenant=tenant,
        status=status,
        time=iso_from_ms(received_ms),
        fault=fault.kind.value if fault is not None else None,
    )
    log.append(entry)
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
