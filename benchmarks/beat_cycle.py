"""One poll cycle the way production runs it: the beat schedule's entry sent through the
broker, the task it names fanning out poll tasks, a worker running them all.

    with BeatCycles() as cycles:
        run = cycles.run()  # waits until every poll the cycle fanned out has finished

The worker runs in a thread of this process (Celery's own test worker, a real consumer of the
configured broker), so the benchmark and the tests can count what the cycle did: how many
polls it fanned out and finished. Used by benchmarks/poller.py and the poller's tests.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any

BEAT_ENTRY = "poll-downlinks"


@dataclass(frozen=True)
class CycleRun:
    fanned_out: int  # what the beat entry's task returned: the poll tasks it enqueued
    polls: int  # poll tasks that finished
    seconds: float


class BeatCycles(AbstractContextManager["BeatCycles"]):
    def __init__(self, *, timeout: float = 120.0) -> None:
        from django.conf import settings

        from things_portal.celery import app

        self.app = app
        self.entry: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE[BEAT_ENTRY]
        self.timeout = timeout
        self._done: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        self._running = ExitStack()

    def _on_postrun(self, sender: Any = None, retval: Any = None, **kwargs: Any) -> None:
        with self._changed:
            self._done.append((getattr(sender, "name", ""), retval))
            self._changed.notify_all()

    def __enter__(self) -> BeatCycles:
        from celery.contrib.testing.worker import start_worker
        from celery.signals import task_postrun

        with ExitStack() as stack:
            task_postrun.connect(self._on_postrun, weak=False)
            stack.callback(task_postrun.disconnect, self._on_postrun)
            self.app.control.purge()  # nothing left over from an earlier run
            stack.enter_context(
                start_worker(self.app, pool="solo", perform_ping_check=False, shutdown_timeout=30)
            )
            self._running = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._running.close()

    def _wait(self, ready: Any) -> Any:
        deadline = time.monotonic() + self.timeout
        with self._changed:
            while (found := ready()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the poll cycle did not finish in {self.timeout} s")
                self._changed.wait(left)
            return found

    def run(self) -> CycleRun:
        """Send the beat entry's task as beat does; return once the cycle has finished."""
        with self._changed:
            self._done.clear()
        started = time.perf_counter()
        self.app.send_task(self.entry["task"], **self.entry.get("options", {}))
        from downlinks.tasks import poll_team

        fan_task, poll_task = self.entry["task"], poll_team.name

        def fanned_out() -> int | None:
            returned = [retval for name, retval in self._done if name == fan_task]
            return int(returned[0]) if returned else None

        count = self._wait(fanned_out)

        def polls_finished() -> int | None:
            done = sum(1 for name, _ in self._done if name == poll_task)
            return done if done >= count else None

        polls = self._wait(polls_finished)
        return CycleRun(fanned_out=count, polls=polls, seconds=time.perf_counter() - started)
