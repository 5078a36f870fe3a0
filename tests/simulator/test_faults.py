"""Fault injection through the control API, the global latency, and the request log."""

import json
from dataclasses import replace
from typing import Any

import pytest
from werkzeug.test import Client

from simulator.app import SimulatorApp, create_app
from simulator.clock import ManualClock
from simulator.fault_responses import SimulatedDisconnect
from tests.simulator.conftest import SETTINGS, START, Api, RecordedSleeps, lora_body


def add_fault(api: Api, **rule: Any) -> dict[str, Any]:
    response = api.client.post("/_sim/faults", json=rule)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def test_error_fault_answers_the_status_without_processing(api: Api) -> None:
    add_fault(api, kind="error", status=503, method="POST")
    response = api.post("/lora/downlinks", json=lora_body())
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Service Unavailable"
    assert api.get("/lora/downlinks").get_json()["items"] == []  # GET is not affected


def test_error_fault_defaults_to_500(api: Api) -> None:
    add_fault(api, kind="error")
    assert api.get("/mqtt/downlinks").status_code == 500


def test_times_limits_a_rule(api: Api) -> None:
    add_fault(api, kind="error", status=502, times=2)
    statuses = [api.get("/lora/downlinks").status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert api.client.get("/_sim/faults").get_json()["items"] == []


def test_path_prefix_filter(api: Api) -> None:
    add_fault(api, kind="error", path="/mqtt/")
    assert api.get("/mqtt/downlinks").status_code == 500
    assert api.get("/lora/downlinks").status_code == 200


def test_method_filter(api: Api) -> None:
    add_fault(api, kind="error", method="delete")
    assert api.get("/lora/downlinks").status_code == 200
    assert api.delete("/lora/downlinks/478a82d4-128f-47a6-aa61-2eac3f2a23ad").status_code == 500


def test_rate_limit_fault(api: Api) -> None:
    add_fault(api, kind="rate_limit", retryAfter=7, times=1)
    limited = api.get("/lora/downlinks")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.mimetype == "application/problem+json"
    assert api.get("/lora/downlinks").status_code == 200


def test_latency_fault_waits_then_answers(api: Api, sleeps: RecordedSleeps) -> None:
    add_fault(api, kind="latency", delayMs=250)
    add_fault(api, kind="latency", delayMs=50, path="/lora/")
    assert api.get("/lora/downlinks").status_code == 200
    assert sleeps == [0.3]


def test_timeout_fault_processes_then_holds_the_answer(api: Api, sleeps: RecordedSleeps) -> None:
    add_fault(api, kind="timeout", method="POST", times=1)
    response = api.post("/lora/downlinks", json=lora_body())
    assert response.status_code == 201
    assert sleeps == [30.0]  # the default hold
    # The create happened although a real client would have given up.
    assert len(api.get("/lora/downlinks").get_json()["items"]) == 1


def test_malformed_fault_answers_200_with_broken_json(api: Api) -> None:
    add_fault(api, kind="malformed", times=1)
    response = api.get("/lora/downlinks")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.data)


def test_disconnect_fault_raises_in_process(api: Api) -> None:
    add_fault(api, kind="disconnect", times=1)
    with pytest.raises(SimulatedDisconnect):
        api.get("/lora/downlinks")
    assert api.get("/lora/downlinks").status_code == 200
    assert [entry.status for entry in api.app.request_log.entries()] == [None, 200]


def test_faults_never_apply_to_the_control_api(api: Api) -> None:
    add_fault(api, kind="error")
    add_fault(api, kind="disconnect")
    assert api.client.get("/_sim/faults").status_code == 200
    assert api.client.delete("/_sim/faults").status_code == 204
    assert api.get("/lora/downlinks").status_code == 200


def test_faults_apply_to_the_token_endpoint(api: Api) -> None:
    add_fault(api, kind="error", status=503, path="/v2/")
    response = api.client.post(
        "/v2/demo/oidc/idp/c1/token", data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 503


def test_the_first_terminal_rule_decides(api: Api) -> None:
    add_fault(api, kind="rate_limit", times=1)
    add_fault(api, kind="error", status=502, times=1)
    assert api.get("/lora/downlinks").status_code == 429
    assert api.get("/lora/downlinks").status_code == 502
    assert api.get("/lora/downlinks").status_code == 200


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "explode"}, "kind"),
        ({}, "kind"),
        ({"kind": "error", "status": 200}, "status"),
        ({"kind": "error", "times": 0}, "times"),
        ({"kind": "latency", "delayMs": -1}, "delayMs"),
        ({"kind": "error", "path": "lora"}, "path"),
        ({"kind": "rate_limit", "retryAfter": "soon"}, "retryAfter"),
    ],
)
def test_invalid_fault_rules_are_refused(api: Api, rule: dict[str, Any], field: str) -> None:
    response = api.client.post("/_sim/faults", json=rule)
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == field


def test_global_latency_applies_to_every_api_call() -> None:
    sleeps = RecordedSleeps()
    app = create_app(replace(SETTINGS, latency_ms=120), clock=ManualClock(START), sleep=sleeps)
    client = Client(app)
    client.get("/lora/downlinks")
    client.get("/_sim/requests")
    client.post("/v2/demo/oidc/idp/c1/token")
    assert sleeps == [0.12, 0.12]


# --- The request log -------------------------------------------------------------------------


def test_the_request_log_counts_api_calls(api: Api) -> None:
    api.post("/lora/downlinks", json=lora_body(), tenant="acme")
    api.get("/lora/downlinks?limit=5&sort=-createdAt", tenant="acme")
    api.client.get("/mqtt/downlinks")
    entries = api.client.get("/_sim/requests").get_json()["items"]
    assert [(e["method"], e["path"], e["query"], e["tenant"], e["status"]) for e in entries] == [
        ("POST", "/lora/downlinks", "", "acme", 201),
        ("GET", "/lora/downlinks", "limit=5&sort=-createdAt", "acme", 200),
        ("GET", "/mqtt/downlinks", "", None, 401),
    ]
    assert entries[0]["time"] == "2025-04-01T00:00:00.000Z"
    assert entries[0]["body"] == lora_body()  # a create's body, as received
    assert [e["body"] for e in entries[1:]] == [None, None]
    assert api.app.request_log.count(method="GET", path="/lora/") == 1
    assert api.client.delete("/_sim/requests").status_code == 204
    assert api.client.get("/_sim/requests").get_json()["items"] == []


def test_the_request_log_never_holds_a_token_or_secret(api: Api) -> None:
    api.get("/lora/downlinks?access_token=abc123&client_secret=zzz")
    entry = api.app.request_log.entries()[0]
    assert "abc123" not in entry.query
    assert "zzz" not in entry.query
    text = api.client.get("/_sim/requests").get_data(as_text=True)
    assert "Bearer" not in text
    assert all(entry.body is None for entry in api.app.request_log.entries())


def test_reset_wipes_downlinks_faults_and_log_but_keeps_clients(
    app: SimulatorApp, api: Api
) -> None:
    app.store.register_client("demo", "c", "s", ("downlink.read",))
    api.create("lora", lora_body())
    add_fault(api, kind="latency", path="/nothing")
    token = app.issue_token()
    assert api.client.post("/_sim/reset").status_code == 204
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/lora/downlinks", headers=headers).get_json()["items"] == []
    assert app.faults.rules() == []
    assert len(app.request_log) == 1
    assert app.store.find_client("c") is not None


def test_clock_control(api: Api) -> None:
    response = api.client.post("/_sim/clock", json={"advanceSeconds": 90})
    assert response.get_json() == {"now": "2025-04-01T00:01:30.000Z", "offsetSeconds": 90.0}
    response = api.client.post("/_sim/clock", json={"offsetSeconds": -3600})
    assert response.get_json()["now"] == "2025-03-31T23:00:00.000Z"
    assert api.client.post("/_sim/clock", json={"advanceSeconds": "1"}).status_code == 400
    assert api.client.post("/_sim/clock", json={}).status_code == 400


def test_token_control(api: Api) -> None:
    response = api.client.post(
        "/_sim/tokens", json={"tenantId": "acme", "scopes": ["downlink.read"]}
    )
    token = response.get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/lora/downlinks", headers=headers).status_code == 200
    assert api.client.post("/lora/downlinks", headers=headers, json=lora_body()).status_code == 403
    assert api.client.post("/_sim/tokens", json={"scopes": ["admin"]}).status_code == 400
