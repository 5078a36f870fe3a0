"""The simulator over real HTTP (threaded server on a random port), with httpx."""

import concurrent.futures
from typing import Any

import httpx
import pytest

from simulator.server import RunningSimulator
from tests.simulator.conftest import lora_body, mqtt_body


def auth(simulator: RunningSimulator, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {simulator.token(**kwargs)}"}


def test_create_read_and_page_over_http(simulator: RunningSimulator) -> None:
    with httpx.Client(base_url=simulator.url, headers=auth(simulator)) as client:
        created = client.post("/mqtt/downlinks", json=mqtt_body())
        assert created.status_code == 201
        location = created.headers["Location"]
        assert location == f"{simulator.url}/mqtt/downlinks/{created.json()['id']}"
        assert client.get(location).json() == created.json()
        client.post("/mqtt/downlinks", json=mqtt_body())
        page = client.get("/mqtt/downlinks", params={"limit": 1}).json()
        assert page["next"].startswith(f"{simulator.url}/mqtt/downlinks?cursor=")
        assert len(client.get(page["next"]).json()["items"]) == 1


def test_the_lifecycle_follows_the_fixture_clock(simulator: RunningSimulator) -> None:
    with httpx.Client(base_url=simulator.url, headers=auth(simulator)) as client:
        created = client.post("/lora/downlinks", json=lora_body()).json()
        simulator.clock.advance(60)
        assert client.get(f"/lora/downlinks/{created['id']}").json()["status"] == "DONE"


def test_client_credentials_over_http(simulator: RunningSimulator) -> None:
    simulator.store.register_client("demo", "portal", "secret", ("downlink.read",))
    response = httpx.post(
        simulator.token_url("demo"),
        data={"grant_type": "client_credentials", "client_id": "portal", "client_secret": "secret"},
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    listed = httpx.get(
        f"{simulator.url}/lora/downlinks", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200


def test_disconnect_fault_closes_the_connection(simulator: RunningSimulator) -> None:
    httpx.post(f"{simulator.url}/_sim/faults", json={"kind": "disconnect", "times": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{simulator.url}/lora/downlinks", headers=auth(simulator))
    assert httpx.get(f"{simulator.url}/lora/downlinks", headers=auth(simulator)).status_code == 200


def test_timeout_fault_makes_the_client_time_out(simulator: RunningSimulator) -> None:
    httpx.post(
        f"{simulator.url}/_sim/faults",
        json={"kind": "timeout", "times": 1, "delayMs": 1500, "method": "POST"},
    )
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{simulator.url}/lora/downlinks",
            json=lora_body(),
            headers=auth(simulator),
            timeout=0.2,
        )
    # The create happened all the same.
    listed = httpx.get(f"{simulator.url}/lora/downlinks", headers=auth(simulator)).json()
    assert len(listed["items"]) == 1


def test_concurrent_creates_are_all_kept(simulator: RunningSimulator) -> None:
    headers = auth(simulator)

    def create(_: int) -> int:
        return httpx.post(
            f"{simulator.url}/lora/downlinks", json=lora_body(), headers=headers
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(40)))
    assert statuses == [201] * 40
    listed = httpx.get(f"{simulator.url}/lora/downlinks", headers=headers).json()
    assert len(listed["items"]) == 40
    assert simulator.app.request_log.count(method="POST") == 40
