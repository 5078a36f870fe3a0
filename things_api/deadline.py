"""A time budget shared by every API call made inside it, retries and token fetches included.

A web page must give up on the Things API well before the web server's worker timeout kills
the process (the person would get a bare 500). The page opens a budget once:

    with time_budget(8.0):
        client.lora.search(...)  # every attempt's timeouts are cut to what is left

and each attempt's connect/read/write/pool timeouts are cut to what is left of it; a retry
whose wait would overrun it is not made; an attempt that would start with nothing left is not
sent at all (a `ThingsTimeoutError` with phase "deadline" that never reached the server).
Nested budgets take the tighter deadline. Outside any budget, calls are bounded only by their
own timeouts and retry policy (background tasks).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    deadline: float  # time.monotonic()
    seconds: float  # the whole budget, for messages

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


_current: ContextVar[Budget | None] = ContextVar("things_time_budget", default=None)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[Budget | None]:
    """API calls inside share `seconds` in all (None: no budget of its own)."""
    outer = _current.get()
    if seconds is None:
        yield outer
        return
    budget = Budget(time.monotonic() + seconds, seconds)
    if outer is not None and outer.deadline <= budget.deadline:
        budget = outer
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def current_budget() -> Budget | None:
    return _current.get()
