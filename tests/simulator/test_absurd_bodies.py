"""The "nested" and "huge" faults: 200 answers whose JSON is too deep or too big to use.

They are set through the control API, like every fault, and answer without processing the
request, like "malformed".
"""

import json
from typing import Any

import httpx
import pytest

from simulator.server import RunningSimulator
from tests.simulator.conftest import Api, lora_body
from tests.simulator.test_faults import add_fault


def test_nested_answers_valid_json_nested_100000_deep_by_default(api: Api) -> None:
    rule = add_fault(api, kind="nested", times=1)
    assert rule["depth"] == 100_000
    response = api.get("/lora/downlinks")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.data == b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(response.data)
    assert api.get("/lora/downlinks").get_json() == {"items": []}  # used up


def test_nested_takes_a_depth(api: Api) -> None:
    add_fault(api, kind="nested", depth=3)
    assert json.loads(api.get("/mqtt/downlinks").data) == [[[]]]


def test_huge_answers_a_valid_page_of_exactly_the_size_asked(api: Api) -> None:
    add_fault(api, kind="huge", sizeBytes=1_000_000, times=1)
    response = api.get("/lora/downlinks")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Length"] == "1000000"
    assert len(response.data) == 1_000_000
    assert json.loads(response.data) == {"items": []}


def test_huge_defaults_to_16_mib_with_its_length_declared(api: Api) -> None:
    rule = add_fault(api, kind="huge")
    assert (rule["sizeBytes"], rule["declareLength"]) == (16 * 1024 * 1024, True)
    response = api.get("/lora/downlinks")
    assert response.headers["Content-Length"] == str(16 * 1024 * 1024)
    assert len(response.data) == 16 * 1024 * 1024


def test_huge_without_declared_length_is_streamed_in_chunks(simulator: RunningSimulator) -> None:
    """Over HTTP: no Content-Length, so a client only learns the size by reading."""
    httpx.post(
        f"{simulator.url}/_sim/faults",
        json={"kind": "huge", "sizeBytes": 3_000_000, "declareLength": False},
        timeout=5,
    ).raise_for_status()
    headers = {"Authorization": f"Bearer {simulator.token()}"}
    with httpx.stream(
        "GET", f"{simulator.url}/lora/downlinks", headers=headers, timeout=10
    ) as response:
        assert response.status_code == 200
        assert "Content-Length" not in response.headers
        assert response.headers["Transfer-Encoding"] == "chunked"
        body = response.read()
    assert len(body) == 3_000_000
    assert json.loads(body) == {"items": []}


@pytest.mark.parametrize(("kind", "extra"), [("nested", {"depth": 5}), ("huge", {})])
def test_absurd_bodies_do_not_process_the_request(
    api: Api, kind: str, extra: dict[str, Any]
) -> None:
    add_fault(api, kind=kind, method="POST", times=1, **extra)
    assert api.post("/lora/downlinks", json=lora_body()).status_code == 200
    assert api.get("/lora/downlinks").get_json()["items"] == []
    assert [entry.fault for entry in api.app.request_log.entries()] == [kind, None]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "nested", "depth": 0}, "depth"),
        ({"kind": "nested", "depth": "deep"}, "depth"),
        ({"kind": "nested", "depth": True}, "depth"),
        ({"kind": "nested", "depth": 10_000_001}, "depth"),
        ({"kind": "huge", "sizeBytes": 12}, "sizeBytes"),
        ({"kind": "huge", "sizeBytes": 2.5e6}, "sizeBytes"),
        ({"kind": "huge", "sizeBytes": 2**30 + 1}, "sizeBytes"),
        ({"kind": "huge", "declareLength": "no"}, "declareLength"),
    ],
)
def test_invalid_absurd_body_rules_are_refused(api: Api, rule: dict[str, Any], field: str) -> None:
    response = api.client.post("/_sim/faults", json=rule)
    assert response.status_code == 400
    assert [param["name"] for param in response.get_json()["invalidParams"]] == [field]
