"""Helpers for the simulator's tests: an in-process app on a manual clock, and an API client."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from simulator.app import SimulatorApp, create_app
from simulator.clock import ManualClock
from simulator.config import SimulatorSettings
from simulator.tokens import ALL_SCOPES

START = datetime(2025, 4, 1, tzinfo=UTC)
# The lifecycle intervals every test here relies on (seconds).
PENDING_SECONDS, EXECUTING_SECONDS, RETRY_SECONDS, CANCEL_SECONDS = 5.0, 10.0, 5.0, 2.0
SETTINGS = SimulatorSettings(
    database=":memory:",
    pending_seconds=PENDING_SECONDS,
    executing_seconds=EXECUTING_SECONDS,
    retry_seconds=RETRY_SECONDS,
    cancel_seconds=CANCEL_SECONDS,
)
DEVICE = "deveui:ea8fa35e2cf3489f"
OTHER_DEVICE = "imei:350266800610993"


def hex_of(text: str) -> str:
    return text.encode().hex()


def create_body(message: dict[str, Any], /, **overrides: Any) -> dict[str, Any]:
    """A create request for DEVICE with `message`, the fields in `overrides` replaced."""
    return {"deviceId": DEVICE, "message": message, "feedbackTimeout": "PT10M", **overrides}


def lora_body(**overrides: Any) -> dict[str, Any]:
    return create_body({"payloadHex": "0102", "fPort": 3}, **overrides)


def mqtt_body(**overrides: Any) -> dict[str, Any]:
    return create_body({"type": "text", "payload": "reboot", "topic": "commands"}, **overrides)


class RecordedSleeps(list[float]):
    """A stand-in for time.sleep that remembers how long it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Api:
    """Calls the app in process with a bearer token for a tenant and scopes."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        self.client = Client(app)

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.app.clock, ManualClock)
        return self.app.clock

    def headers(self, tenant: str = "demo", scopes: tuple[str, ...] = ALL_SCOPES) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.app.issue_token(tenant, scopes)}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        tenant: str = "demo",
        scopes: tuple[str, ...] = ALL_SCOPES,
        **kwargs: Any,
    ) -> TestResponse:
        """`method path` with a token for `tenant` and `scopes` (`kwargs`: werkzeug's)."""
        return self.client.open(path, method=method, headers=self.headers(tenant, scopes), **kwargs)

    # Each takes request()'s keywords: tenant, scopes and werkzeug's.
    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def create(self, kind: str, body: dict[str, Any], tenant: str = "demo") -> dict[str, Any]:
        response = self.post(f"/{kind}/downlinks", json=body, tenant=tenant)
        assert response.status_code == 201, response.get_json()
        created: dict[str, Any] = response.get_json()
        return created

    def read(self, kind: str, downlink_id: str, tenant: str = "demo") -> dict[str, Any]:
        response = self.get(f"/{kind}/downlinks/{downlink_id}", tenant=tenant)
        assert response.status_code == 200, response.get_json()
        found: dict[str, Any] = response.get_json()
        return found


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def app(sleeps: RecordedSleeps) -> Iterator[SimulatorApp]:
    simulator_app = create_app(SETTINGS, clock=ManualClock(START), sleep=sleeps)
    yield simulator_app
    simulator_app.store.close()


@pytest.fixture
def api(app: SimulatorApp) -> Api:
    return Api(app)
