"""Fault injection: rules, set through the control API, that make API calls misbehave.

A rule applies to requests whose method and path match (`method` exact, `path` a prefix; both
optional), `times` times or until cleared. Kinds:

- latency: wait `delayMs` (default 1000), then answer normally; several latency rules add up.
- error: answer `status` (default 500) with a Problem, without processing the request.
- rate_limit: answer 429 with a Problem and `Retry-After: retryAfter` (default 1 second),
  without processing the request.
- timeout: process the request, then hold the answer for `delayMs` (default 30000) so the
  client gives up first; a create held like this has happened although the client cannot know.
- malformed: answer 200 with a body that is not the promised JSON, without processing.
- nested: answer 200 with valid JSON nested `depth` arrays deep (default 100000), without
  processing: a parser that recurses runs out of stack.
- huge: answer 200 with a valid JSON page (`{"items": []}` padded with whitespace) of exactly
  `sizeBytes` bytes (default 16 MiB), streamed, without processing; `declareLength: false`
  leaves out Content-Length, so the client cannot refuse it before reading.
- disconnect: close the connection without answering, without processing.

The first matching non-latency rule decides; every rule that applies uses up one of its times.
Rules never apply to the control API (/_sim/) itself.
"""

import itertools
import threading
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from simulator.validation import InvalidParam, RequestInvalid


class FaultKind(StrEnum):
    LATENCY = "latency"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    NESTED = "nested"
    HUGE = "huge"
    DISCONNECT = "disconnect"


_DEFAULT_DELAY_MS = {FaultKind.LATENCY: 1000.0, FaultKind.TIMEOUT: 30000.0}
# The kinds the simulator answers itself, without processing the request.
UNPROCESSED_KINDS = frozenset(
    {FaultKind.ERROR, FaultKind.RATE_LIMIT, FaultKind.MALFORMED, FaultKind.NESTED, FaultKind.HUGE}
)
DEFAULT_DEPTH = 100_000
MAX_DEPTH = 10_000_000
DEFAULT_SIZE_BYTES = 16 * 1024 * 1024
MAX_SIZE_BYTES = 1024 * 1024 * 1024
# The body the "huge" fault pads with whitespace to its size.
HUGE_BODY_START, HUGE_BODY_END = b'{"items": [', b"]}"
MIN_SIZE_BYTES = len(HUGE_BODY_START) + len(HUGE_BODY_END)


@dataclass(frozen=True)
class FaultRule:
    kind: FaultKind
    method: str | None = None
    path: str | None = None
    times: int | None = None  # None: until cleared
    delay_ms: float = 0.0
    status: int = 500
    retry_after: int = 1
    depth: int = DEFAULT_DEPTH
    size_bytes: int = DEFAULT_SIZE_BYTES
    declare_length: bool = True
    id: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or path.startswith(self.path)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "kind": self.kind.value}
        for name, value in (("method", self.method), ("path", self.path), ("times", self.times)):
            if value is not None:
                body[name] = value
        if self.kind in _DEFAULT_DELAY_MS:
            body["delayMs"] = self.delay_ms
        if self.kind is FaultKind.ERROR:
            body["status"] = self.status
        if self.kind is FaultKind.RATE_LIMIT:
            body["retryAfter"] = self.retry_after
        if self.kind is FaultKind.NESTED:
            body["depth"] = self.depth
        if self.kind is FaultKind.HUGE:
            body["sizeBytes"] = self.size_bytes
            body["declareLength"] = self.declare_length
        return body


def _whole(value: object, lowest: int, highest: int) -> int | None:
    """`value` if it is a whole number (not a boolean) from `lowest` to `highest`."""
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        return None
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_fault_rule(body: object) -> FaultRule:
    """A rule from the control API's JSON, or RequestInvalid naming what is wrong."""
    if not isinstance(body, dict):
        raise RequestInvalid.single("body", "must be a JSON object")
    problems: list[InvalidParam] = []
    kinds = ", ".join(kind.value for kind in FaultKind)
    try:
        kind = FaultKind(str(body.get("kind")))
    except ValueError:
        raise RequestInvalid.single("kind", f"must be one of {kinds}") from None
    rule = FaultRule(kind=kind, delay_ms=_DEFAULT_DELAY_MS.get(kind, 0.0))
    method, path, times = body.get("method"), body.get("path"), body.get("times")
    if method is not None and not isinstance(method, str):
        problems.append(InvalidParam("method", "must be an HTTP method such as GET"))
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        problems.append(InvalidParam("path", "must be a path prefix starting with /"))
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        problems.append(InvalidParam("times", "must be a whole number of at least 1"))
    delay = _number(body.get("delayMs", rule.delay_ms))
    if delay is None or delay < 0:
        problems.append(InvalidParam("delayMs", "must be a number of milliseconds (0 or more)"))
    status = body.get("status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        problems.append(InvalidParam("status", "must be an HTTP error status from 400 to 599"))
    retry_after = body.get("retryAfter", 1)
    if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
        problems.append(InvalidParam("retryAfter", "must be a whole number of seconds"))
    depth = _whole(body.get("depth", DEFAULT_DEPTH), 1, MAX_DEPTH)
    if depth is None:
        problems.append(InvalidParam("depth", f"must be a whole number from 1 to {MAX_DEPTH}"))
    size_bytes = _whole(body.get("sizeBytes", DEFAULT_SIZE_BYTES), MIN_SIZE_BYTES, MAX_SIZE_BYTES)
    if size_bytes is None:
        problems.append(
            InvalidParam(
                "sizeBytes",
                f"must be a whole number of bytes from {MIN_SIZE_BYTES} to {MAX_SIZE_BYTES}",
            )
        )
    declare_length = body.get("declareLength", True)
    if not isinstance(declare_length, bool):
        problems.append(InvalidParam("declareLength", "must be true or false"))
    if problems:
        raise RequestInvalid(problems)
    return replace(
        rule,
        method=method.upper() if isinstance(method, str) else None,
        path=path if isinstance(path, str) else None,
        times=times if isinstance(times, int) else None,
        delay_ms=delay or 0.0,
        status=int(status),
        retry_after=int(retry_after),
        depth=depth or DEFAULT_DEPTH,
        size_bytes=size_bytes or DEFAULT_SIZE_BYTES,
        declare_length=bool(declare_length),
    )


@dataclass
class FaultDecision:
    """What the faults ask of one request: a total extra delay, and maybe a terminal rule."""

    delay_ms: float = 0.0
    terminal: FaultRule | None = None
    applied: list[FaultRule] = field(default_factory=list)


class FaultInjector:
    """The active rules; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            stored = replace(rule, id=next(self._ids))
            self._rules.append(stored)
        return stored

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def decide(self, method: str, path: str) -> FaultDecision:
        """Apply the rules to one request, using up one of each applied rule's times."""
        decision = FaultDecision()
        with self._lock:
            remaining: list[FaultRule] = []
            for rule in self._rules:
                applies = rule.matches(method, path) and (
                    rule.kind is FaultKind.LATENCY or decision.terminal is None
                )
                if applies:
                    decision.applied.append(rule)
                    if rule.kind is FaultKind.LATENCY:
                        decision.delay_ms += rule.delay_ms
                    else:
                        decision.terminal = rule
                    if rule.times is not None:
                        if rule.times <= 1:
                            continue
                        rule = replace(rule, times=rule.times - 1)
                remaining.append(rule)
            self._rules = remaining
        return decision
