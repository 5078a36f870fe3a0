"""Waiting for something to become true, with a deadline, instead of sleeping a fixed time."""

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], object], *, timeout: float = 10.0, every: float = 0.05
) -> None:
    """Return as soon as `condition()` is truthy; fail with AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {condition}")
        time.sleep(every)
