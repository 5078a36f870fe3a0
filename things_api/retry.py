"""When and how long to wait before repeating a failed request.

Only idempotent reads (GET) are ever repeated:

- a create (POST) that timed out or got a 5xx may already have created the downlink; sending it
  again could deliver the same command to a device twice. The caller records such a create as
  "outcome unknown" and reconciles it instead;
- a cancel (DELETE) that is repeated after the first one was in fact accepted would get a 409
  ("status does not permit cancellation") for a cancel that worked, which is misleading.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Final, Literal

DEFAULT_RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS: Final = frozenset({"GET"})


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait according to a Retry-After header (delay-seconds or an HTTP-date).

    Returns None when there is no usable value; a date in the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            return None
        return max(0.0, seconds)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000" parses as naive; HTTP-dates are always UTC.
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter, honouring Retry-After.

    `max_attempts` counts the first try (3 = one try and at most two repeats). The n-th repeat
    waits up to `backoff_base * 2**(n-1)` seconds, never more than `backoff_cap`:
    "full" jitter waits a random part of that, "decorrelated" jitter a random time between
    `backoff_base` and three times the previous wait, "none" exactly that. A Retry-After from
    the server replaces the backoff; one longer than `retry_after_cap` means giving up at once
    (the error then carries `retry_after` so the caller can tell the person when to come back).
    """

    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    jitter: Literal["full", "decorrelated", "none"] = "full"
    retry_after_cap: float = 30.0
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    random_source: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.retry_after_cap < 0:
            raise ValueError("delays cannot be negative")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries once and never repeats."""
        return cls(max_attempts=1)

    def may_retry_method(self, method: str) -> bool:
        return method.upper() in IDEMPOTENT_METHODS

    def may_retry_status(self, method: str, status_code: int) -> bool:
        return self.may_retry_method(method) and status_code in self.retry_statuses

    def backoff(self, attempt: int, previous_delay: float | None = None) -> float:
        """The wait after failed attempt number `attempt` (1-based) when no Retry-After says."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        if self.jitter == "none":
            return ceiling
        if self.jitter == "full":
            return self.random_source() * ceiling
        previous = previous_delay if previous_delay is not None else self.backoff_base
        upper = max(self.backoff_base, previous * 3)
        return min(
            self.backoff_cap, self.backoff_base + self.random_source() * (upper - self.backoff_base)
        )

    def next_delay(
        self,
        *,
        attempt: int,
        retry_after: str | None = None,
        previous_delay: float | None = None,
    ) -> float | None:
        """How long to wait before attempt `attempt + 1`, or None to give up.

        `retry_after` is the raw Retry-After header of the failed attempt, if any.
        """
        if attempt >= self.max_attempts:
            return None
        server_says = parse_retry_after(retry_after, now=self.clock())
        if server_says is not None:
            return None if server_says > self.retry_after_cap else server_says
        return self.backoff(attempt, previous_delay)
