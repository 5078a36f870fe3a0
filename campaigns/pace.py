"""The team's campaign rate, kept across every worker: at most `rate` creates in any window of
one second (plus a margin), a team-wide hold after a 429 with Retry-After, and a slower rate
for a while after one.

Why not `limits`' moving window: it counts in whole seconds with Redis EXPIRE, so it cannot
keep the margin that absorbs the time between taking a slot and the request reaching the API
(a few milliseconds, more on a loaded machine), and it has no hold; ask it again and again to
learn when the next slot frees. This is the same moving window (a list of the last hits),
in milliseconds by the Redis server's clock (one clock for every worker), answering with how
long to wait. Without Redis (the embedded `make run`) the same window is kept in a file per
team under an exclusive lock, which the worker processes of the one machine share.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import redis
from django.conf import settings

# KEYS: the hits (newest first, in ms), the hold-until, the slow-until (ms).
# ARGV: the rate, the slow rate, the window (ms). Returns 0 (go: the hit is taken) or the
# milliseconds to wait before asking again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
if hold > now then return hold - now end
local rate = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[3]) or '0') > now then rate = tonumber(ARGV[2]) end
local window = tonumber(ARGV[3])
local oldest = redis.call('LINDEX', KEYS[1], rate - 1)
if oldest and tonumber(oldest) > now - window then
  return tonumber(oldest) + window - now
end
redis.call('LPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""

# KEYS: a key holding a time in ms; ARGV: ms from now. Only ever moves the time later.
_EXTEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
  redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]))
end
return until_ms
"""


def slow_rate(rate: int) -> int:
    """The rate for a while after a 429: half, at least one a second."""
    return max(1, rate // 2)


def window_ms() -> int:
    return 1000 + settings.CAMPAIGN_RATE_MARGIN_MS


class Pacer(Protocol):
    def acquire(self, team_id: int, rate: int) -> float:
        """Take a slot for one create now (0.0), or say how many seconds to wait first."""

    def hold(self, team_id: int, seconds: float) -> None:
        """No creates for the team for `seconds` (a 429's Retry-After), then a slower rate for
        CAMPAIGN_SLOW_SECONDS."""


@dataclass
class RedisPacer:
    client: redis.Redis

    def _keys(self, team_id: int) -> list[str]:
        base = f"campaigns:pace:{team_id}"
        return [f"{base}:hits", f"{base}:hold", f"{base}:slow"]

    def acquire(self, team_id: int, rate: int) -> float:
        wait = self.client.eval(
            _ACQUIRE, 3, *self._keys(team_id), rate, slow_rate(rate), window_ms()
        )
        return int(wait) / 1000

    def hold(self, team_id: int, seconds: float) -> None:
        _, hold, slow = self._keys(team_id)
        held_ms = max(1, round(seconds * 1000))
        self.client.eval(_EXTEND, 1, hold, held_ms)
        self.client.eval(_EXTEND, 1, slow, held_ms + settings.CAMPAIGN_SLOW_SECONDS * 1000)


class FilePacer:
    """The same window in a file per team under `folder`, taken under an exclusive lock: every
    worker process of one machine shares it (the embedded `make run` has no Redis)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _state(self, team_id: int) -> Iterator[dict[str, Any]]:
        with (self.folder / f"team-{team_id}.json").open("a+") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            file.seek(0)
            text = file.read()
            state: dict[str, Any] = json.loads(text) if text else {}
            yield state
            file.seek(0)
            file.truncate()
            file.write(json.dumps(state))
            file.flush()

    def acquire(self, team_id: int, rate: int) -> float:
        with self._state(team_id) as state:
            now = time.time()
            hold = float(state.get("hold", 0.0))
            if hold > now:
                return hold - now
            allowed = slow_rate(rate) if float(state.get("slow", 0.0)) > now else rate
            window = window_ms() / 1000
            hits: list[float] = state.get("hits", [])
            if len(hits) >= allowed and hits[-allowed] > now - window:
                return hits[-allowed] + window - now
            state["hits"] = [*hits, now][-rate:]
            return 0.0

    def hold(self, team_id: int, seconds: float) -> None:
        with self._state(team_id) as state:
            until = time.time() + seconds
            state["hold"] = max(float(state.get("hold", 0.0)), until)
            slow_until = until + settings.CAMPAIGN_SLOW_SECONDS
            state["slow"] = max(float(state.get("slow", 0.0)), slow_until)


@cache
def _file_pacer(folder: str) -> FilePacer:
    return FilePacer(Path(folder))


@cache
def _redis_pacer(url: str) -> RedisPacer:
    return RedisPacer(redis.Redis.from_url(url))


def pacer() -> Pacer:
    """Redis when the portal has it (every worker of every machine shares the window), else a
    file under VAR_DIR (every worker of this machine)."""
    if settings.CAMPAIGN_RATE_REDIS_URL:
        return _redis_pacer(settings.CAMPAIGN_RATE_REDIS_URL)
    return _file_pacer(str(settings.VAR_DIR / "campaign-pace"))


def team_rate(own: int) -> int:
    """The rate a team's campaigns send at: its own, at most the portal's maximum."""
    return max(1, min(own, settings.CAMPAIGN_MAX_RATE))
