"""The control API's token: open without one (`make run`, the tests), closed with one."""

from collections.abc import Iterator

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from werkzeug.test import Client

from simulator.app import SimulatorApp, create_app
from simulator.clock import ManualClock
from simulator.config import SimulatorSettings, settings_from_django
from simulator.server import start_in_thread
from tests.simulator.conftest import START, lora_body

CONTROL_TOKEN = "control-7f3a9c1e5b2d4f60"
CONTROL_ROUTES = [
    ("GET", "/_sim/faults"),
    ("POST", "/_sim/faults"),
    ("DELETE", "/_sim/faults"),
    ("GET", "/_sim/requests"),
    ("DELETE", "/_sim/requests"),
    ("GET", "/_sim/clock"),
    ("POST", "/_sim/clock"),
    ("POST", "/_sim/clients"),
    ("DELETE", "/_sim/clients/portal"),
    ("POST", "/_sim/tokens"),
    ("POST", "/_sim/reset"),
    ("GET", "/_sim/no-such-thing"),
    ("GET", "/_sim"),
]


@pytest.fixture
def guarded() -> Iterator[SimulatorApp]:
    app = create_app(
        SimulatorSettings(database=":memory:", control_token=CONTROL_TOKEN),
        clock=ManualClock(START),
    )
    yield app
    app.store.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_a_control_token_the_control_api_is_open(app: SimulatorApp) -> None:
    assert SimulatorSettings().control_token == ""
    client = Client(app)
    assert client.get("/_sim/clock").status_code == 200
    assert client.post("/_sim/faults", json={"kind": "latency", "delayMs": 1}).status_code == 201


@pytest.mark.parametrize(("method", "path"), CONTROL_ROUTES)
def test_every_control_path_needs_the_token(guarded: SimulatorApp, method: str, path: str) -> None:
    response = Client(guarded).open(path, method=method, json={"kind": "error"})

    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 401
    assert problem["detail"] == (
        "The control API needs the simulator's control token: send "
        "'Authorization: Bearer <SIMULATOR_CONTROL_TOKEN>'."
    )
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="simulator-control"'


def test_a_refused_request_changes_nothing(guarded: SimulatorApp) -> None:
    client = Client(guarded)
    refused = client.post("/_sim/faults", json={"kind": "error"}, headers=bearer("guess"))

    assert refused.status_code == 401
    assert guarded.faults.rules() == []
    assert client.post("/_sim/clock", json={"advanceSeconds": 60}).status_code == 401
    assert guarded.clock.now_ms() == int(START.timestamp() * 1000)


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (f"Bearer {CONTROL_TOKEN}x", "This is not the simulator's control token."),
        (f"Bearer {CONTROL_TOKEN[:-1]}", "This is not the simulator's control token."),
        ("Bearer Grüße", "This is not the simulator's control token."),
        (f"Basic {CONTROL_TOKEN}", "The Authorization header must hold the control token"),
        (CONTROL_TOKEN, "The Authorization header must hold the control token"),
        ("Bearer   ", "The Authorization header must hold the control token"),
    ],
)
def test_anything_but_the_token_is_refused_in_words(
    guarded: SimulatorApp, authorization: str, detail: str
) -> None:
    response = Client(guarded).get("/_sim/clock", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.get_json()["detail"].startswith(detail)
    assert CONTROL_TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_the_token_opens_the_control_api(guarded: SimulatorApp, scheme: str) -> None:
    client = Client(guarded)
    headers = {"Authorization": f"{scheme} {CONTROL_TOKEN}"}

    added = client.post("/_sim/faults", json={"kind": "latency", "delayMs": 1}, headers=headers)
    assert added.status_code == 201
    assert [rule.as_json()["kind"] for rule in guarded.faults.rules()] == ["latency"]
    assert client.get("/_sim/no-such-thing", headers=headers).status_code == 404


def test_the_control_token_is_not_an_api_token_and_the_api_needs_none(
    guarded: SimulatorApp,
) -> None:
    """The downlinks API keeps its own bearer tokens; the control token opens only /_sim/."""
    client = Client(guarded)
    with_control_token = client.post(
        "/lora/downlinks", json=lora_body(), headers=bearer(CONTROL_TOKEN)
    )
    assert with_control_token.status_code == 401
    with_api_token = client.post(
        "/lora/downlinks", json=lora_body(), headers=bearer(guarded.issue_token())
    )
    assert with_api_token.status_code == 201


def test_over_http_too(guarded: SimulatorApp) -> None:
    running = start_in_thread(guarded)
    try:
        assert httpx.get(f"{running.url}/_sim/requests").status_code == 401
        answer = httpx.get(f"{running.url}/_sim/requests", headers=bearer(CONTROL_TOKEN))
        assert answer.status_code == 200
    finally:
        running.stop()


def test_the_token_is_kept_out_of_the_settings_repr() -> None:
    assert CONTROL_TOKEN not in repr(SimulatorSettings(control_token=CONTROL_TOKEN))


def test_settings_from_django_reads_the_control_token() -> None:
    with override_settings(SIMULATOR_CONTROL_TOKEN=f" {CONTROL_TOKEN}\n"):
        assert settings_from_django().control_token == CONTROL_TOKEN
    with override_settings(SIMULATOR_CONTROL_TOKEN=""):
        assert settings_from_django().control_token == ""


# The addresses it must refuse to open the control API on.
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "simulator"])  # noqa: S104
def test_run_simulator_refuses_a_network_without_a_control_token(host: str) -> None:
    """It refuses before binding: with no port there is, a command that tried to bind would
    fail with another error (instead of serving until interrupted)."""
    with override_settings(SIMULATOR_CONTROL_TOKEN=""), pytest.raises(CommandError) as refused:
        call_command("run_simulator", host=host, port=-1)
    assert "SIMULATOR_CONTROL_TOKEN" in str(refused.value)
