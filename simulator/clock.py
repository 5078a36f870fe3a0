"""The simulator's sense of time: the system clock shifted by a skew, or a frozen one for tests.

Time is kept as whole milliseconds since the epoch (UTC), the resolution the API shows in
`createdAt`/`modifiedAt`, so stored instants and the ones a client reads back compare exactly.
"""

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime


def ms_from_datetime(moment: datetime) -> int:
    """Whole milliseconds since the epoch; an aware datetime is required."""
    return int(moment.timestamp() * 1000)


def datetime_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_from_ms(ms: int) -> str:
    """The API's timestamp form: UTC, milliseconds, `Z` (e.g. 2025-04-01T00:00:00.000Z)."""
    moment = datetime_from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Clock(ABC):
    """A clock with a skew (offset) that can be set, and moved forward, at run time."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._offset_ms = round(offset_seconds * 1000)

    @abstractmethod
    def _base_ms(self) -> int:
        """The unskewed time, in milliseconds since the epoch."""

    def now_ms(self) -> int:
        with self._lock:
            return self._base_ms() + self._offset_ms

    def now(self) -> datetime:
        return datetime_from_ms(self.now_ms())

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset_ms / 1000

    def set_offset(self, seconds: float) -> None:
        with self._lock:
            self._offset_ms = round(seconds * 1000)

    def advance(self, seconds: float) -> None:
        """Move time forward (or back, with a negative number) by `seconds`."""
        with self._lock:
            self._offset_ms += round(seconds * 1000)


class SystemClock(Clock):
    """Wall-clock time plus the skew."""

    def _base_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock(Clock):
    """Time that stands still until a test advances it; starts at `start` (default: now)."""

    def __init__(self, start: datetime | None = None, offset_seconds: float = 0.0) -> None:
        super().__init__(offset_seconds)
        self._start_ms = (
            ms_from_datetime(start) if start is not None else time.time_ns() // 1_000_000
        )

    def _base_ms(self) -> int:
        return self._start_ms
