"""The Server-Timing header: where a response's time went (Things API, database, total).

The API time comes from the Things client's observer, the database time from a query
wrapper; both add to counters that belong to the current request (a context variable), so
concurrent requests never mix their numbers.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse


class TimedRequest(Protocol):
    """What the observer needs of the Things client's record of one HTTP attempt."""

    @property
    def elapsed(self) -> float: ...


@dataclass
class Timings:
    api_seconds: float = 0.0
    api_calls: int = 0
    db_seconds: float = 0.0
    db_queries: int = 0


_current: ContextVar[Timings | None] = ContextVar("server_timings", default=None)


def observe_api_request(record: TimedRequest) -> None:
    """The Things client's observer: called after every HTTP attempt."""
    timings = _current.get()
    if timings is not None:
        timings.api_seconds += record.elapsed
        timings.api_calls += 1


def current_timings() -> Timings | None:
    return _current.get()


@contextmanager
def measured() -> Iterator[Timings]:
    """Count API calls and database time of a block (e.g. a poll cycle, outside requests)."""
    timings = Timings()
    token = _current.set(timings)
    try:
        with connections["default"].execute_wrapper(_time_queries):
            yield timings
    finally:
        _current.reset(token)


def _time_queries(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    timings = _current.get()
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        if timings is not None:
            timings.db_seconds += time.perf_counter() - started
            timings.db_queries += 1


class ServerTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.SERVER_TIMING:  # off in production: it would tell anyone our insides
            return self.get_response(request)
        timings = Timings()
        token = _current.set(timings)
        started = time.perf_counter()
        try:
            with connections["default"].execute_wrapper(_time_queries):
                response = self.get_response(request)
        finally:
            _current.reset(token)
        total_ms = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = ", ".join(
            [
                f'api;dur={timings.api_seconds * 1000:.1f};desc="{timings.api_calls} calls"',
                f'db;dur={timings.db_seconds * 1000:.1f};desc="{timings.db_queries} queries"',
                f"total;dur={total_ms:.1f}",
            ]
        )
        return response
