"""State survives a restart: two apps on the same SQLite file."""

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from werkzeug.test import Client

from simulator.app import create_app
from simulator.clock import ManualClock
from simulator.config import SimulatorSettings
from tests.simulator.conftest import SETTINGS, START, lora_body


def test_downlinks_clients_and_key_survive_a_restart(tmp_path: Path) -> None:
    settings = replace(SETTINGS, database=str(tmp_path / "sim.sqlite3"))
    first = create_app(settings, clock=ManualClock(START))
    first.store.register_client("demo", "portal", "secret", ("downlink.read",))
    token = first.issue_token("demo")
    headers = {"Authorization": f"Bearer {token}"}
    created = Client(first).post("/lora/downlinks", json=lora_body(), headers=headers).get_json()
    first.store.close()

    later = START + timedelta(minutes=1)
    second = create_app(settings, clock=ManualClock(later))
    client = Client(second)
    found = client.get(f"/lora/downlinks/{created['id']}", headers=headers)
    assert found.status_code == 200  # the same key still verifies the old token
    assert found.get_json()["status"] == "DONE"  # the lifecycle went on meanwhile
    assert found.get_json()["createdAt"] == created["createdAt"]
    response = client.post(
        "/v2/demo/oidc/idp/c1/token",
        data={"grant_type": "client_credentials", "client_id": "portal", "client_secret": "secret"},
    )
    assert response.status_code == 200
    second.store.close()


def test_a_configured_signing_key_wins_over_the_stored_one(tmp_path: Path) -> None:
    database = str(tmp_path / "sim.sqlite3")
    stored = create_app(SimulatorSettings(database=database), clock=ManualClock(START))
    configured = create_app(
        SimulatorSettings(database=database, signing_key="k" * 40), clock=ManualClock(START)
    )
    token = stored.issue_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert Client(stored).get("/mqtt/downlinks", headers=headers).status_code == 200
    assert Client(configured).get("/mqtt/downlinks", headers=headers).status_code == 401
    assert "k" * 40 not in repr(configured.config)
    stored.store.close()
    configured.store.close()
