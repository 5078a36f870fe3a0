"""Calls made at the same moment, each in a thread of its own, for the tests of what happens
when they overlap (the errors they raise are raised here, in the test's own thread)."""

import threading
import time
from collections.abc import Callable, Sequence


def at_once[T](calls: Sequence[Callable[[], T]], *, timeout: float = 60.0) -> list[T]:
    """Starts each of `calls` in a thread of its own, holds them at a barrier until all have
    started, then lets them go together. Returns what they returned, in the order of `calls`.

    Fails with AssertionError when a call is still running after `timeout` seconds (a barrier
    not reached in that time breaks, and each waiting call raises BrokenBarrierError); raises
    what the calls raised, together, when any raised."""
    barrier = threading.Barrier(len(calls), timeout=timeout)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as error:  # raised below, in the test's own thread
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    running = sum(thread.is_alive() for thread in threads)
    assert not running, f"{running} of {len(calls)} calls still running after {timeout} s"
    if errors:
        raise BaseExceptionGroup(f"{len(errors)} of {len(calls)} calls raised", errors)
    return [results[index] for index in range(len(calls))]
