"""The clock: skew, manual advance, and the API's timestamp format."""

from datetime import UTC, datetime

from werkzeug.test import Client

from simulator.app import SimulatorApp
from simulator.clock import ManualClock, SystemClock, iso_from_ms, ms_from_datetime


def test_iso_format_is_utc_with_milliseconds() -> None:
    assert iso_from_ms(1_743_465_600_000) == "2025-04-01T00:00:00.000Z"
    assert iso_from_ms(1_743_465_600_007) == "2025-04-01T00:00:00.007Z"
    assert ms_from_datetime(datetime(2025, 4, 1, tzinfo=UTC)) == 1_743_465_600_000


def test_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(datetime(2025, 4, 1, tzinfo=UTC))
    assert clock.now_ms() == clock.now_ms() == 1_743_465_600_000
    clock.advance(1.5)
    assert clock.now() == datetime(2025, 4, 1, 0, 0, 1, 500000, tzinfo=UTC)
    clock.set_offset(-60)
    assert clock.now_ms() == 1_743_465_540_000
    assert clock.offset_seconds == -60


def test_system_clock_applies_the_skew() -> None:
    plain, skewed = SystemClock(), SystemClock(offset_seconds=3600)
    difference = skewed.now_ms() - plain.now_ms()
    assert 3_599_000 < difference <= 3_601_000


def test_the_simulator_app_fixture(simulator_app: SimulatorApp) -> None:
    headers = {"Authorization": f"Bearer {simulator_app.issue_token('demo', ['downlink.read'])}"}
    assert Client(simulator_app).get("/lora/downlinks", headers=headers).status_code == 200
    assert isinstance(simulator_app.clock, ManualClock)
