"""The team's rate window, in a file and in Redis: taken slots never exceed the rate in any
window of one second (plus the margin), a hold stops every taker until it ends, and after it
the rate is halved. Each slot is taken as soon as the pacer gives one."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from campaigns.pace import FilePacer, Pacer, RedisPacer, slow_rate, window_ms
from tests.polling import wait_until


@pytest.fixture(params=["file", "redis"])
def pacer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pacer]:
    if request.param == "file":
        yield FilePacer(tmp_path / "pace")
        return
    client = redis.Redis.from_url(settings.CAMPAIGN_RATE_REDIS_URL or "redis://127.0.0.1:6379/9")
    for key in client.scan_iter("campaigns:pace:*"):
        client.delete(key)
    yield RedisPacer(client)
    for key in client.scan_iter("campaigns:pace:*"):
        client.delete(key)


def take(pacer: Pacer, team_id: int, rate: int, count: int) -> list[float]:
    """`count` slots, each taken as soon as the pacer gives one (asked every 2 ms)."""
    taken: list[float] = []
    while len(taken) < count:
        wait_until(lambda: pacer.acquire(team_id, rate) == 0, timeout=10, every=0.002)
        taken.append(time.monotonic())
    return taken


def most_in_window(times: list[float], seconds: float) -> int:
    return max(sum(1 for other in times if start <= other < start + seconds) for start in times)


def test_slots_never_exceed_the_rate_in_any_window(pacer: Pacer) -> None:
    taken = take(pacer, 1, 10, 25)
    window = window_ms() / 1000
    assert most_in_window(taken, window - 0.005) <= 10
    # And not much fewer: 25 slots at 10/s take two windows and a bit.
    assert taken[-1] - taken[0] < 2 * window + 0.2


def test_teams_have_windows_of_their_own(pacer: Pacer) -> None:
    take(pacer, 1, 5, 5)
    assert pacer.acquire(1, 5) > 0
    assert pacer.acquire(2, 5) == 0


def test_a_hold_stops_the_team_then_it_goes_at_half_the_rate(pacer: Pacer) -> None:
    started = time.monotonic()
    pacer.hold(3, 0.5)
    wait = pacer.acquire(3, 10)
    assert 0.4 < wait <= 0.5
    taken = take(pacer, 3, 10, 10)
    assert taken[0] - started >= 0.45  # nothing before the hold ended
    assert most_in_window(taken, window_ms() / 1000 - 0.005) <= slow_rate(10)
