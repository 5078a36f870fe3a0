"""The management commands: run_simulator, simulator_token, simulator_client."""

import io
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from werkzeug.test import Client

from simulator.app import create_app
from simulator.config import SimulatorSettings, settings_from_django
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_settings_from_django_reads_the_simulator_settings(tmp_path: Path) -> None:
    with override_settings(
        SIMULATOR_DATABASE=str(tmp_path / "s.sqlite3"), SIMULATOR_PENDING_SECONDS=1.5
    ):
        config = settings_from_django()
    assert config.database == str(tmp_path / "s.sqlite3")
    assert config.pending_seconds == 1.5
    assert config.signing_key == ""


def test_simulator_token_prints_a_token_the_simulator_accepts(tmp_path: Path) -> None:
    database = str(tmp_path / "s.sqlite3")
    with override_settings(SIMULATOR_DATABASE=database):
        output = run("simulator_token", tenant="acme", scopes="downlink.read")
    token = output.strip()
    assert output == f"{token}\n"
    app = create_app(SimulatorSettings(database=database))
    headers = {"Authorization": f"Bearer {token}"}
    assert Client(app).get("/lora/downlinks", headers=headers).status_code == 200
    assert Client(app).post("/lora/downlinks", headers=headers, json={}).status_code == 403
    app.store.close()


def test_simulator_token_refuses_unknown_scopes(tmp_path: Path) -> None:
    with (
        override_settings(SIMULATOR_DATABASE=str(tmp_path / "s.sqlite3")),
        pytest.raises(CommandError),
    ):
        run("simulator_token", scopes="downlink.read,admin")


def test_simulator_client_registers_idempotently_and_revokes(tmp_path: Path) -> None:
    database = str(tmp_path / "s.sqlite3")
    with override_settings(SIMULATOR_DATABASE=database):
        for _ in range(2):
            output = run(
                "simulator_client", tenant="demo", client_id="portal", client_secret="pw-123"
            )
            assert "pw-123" not in output
    app = create_app(SimulatorSettings(database=database))
    client = Client(app)
    form = {"grant_type": "client_credentials", "client_id": "portal", "client_secret": "pw-123"}
    assert client.post("/v2/demo/oidc/idp/c1/token", data=form).status_code == 200
    with override_settings(SIMULATOR_DATABASE=database):
        run("simulator_client", client_id="portal", revoke=True)
    assert client.post("/v2/demo/oidc/idp/c1/token", data=form).status_code == 401
    app.store.close()


def test_run_simulator_serves_until_interrupted(tmp_path: Path) -> None:
    database = str(tmp_path / "s.sqlite3")
    port = free_port()
    env = {**os.environ, "SIMULATOR_DATABASE": database}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_simulator", "--port", str(port), "--latency-ms", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        # The first line is written once the port is bound (or EOF if the command failed).
        ready = process.stdout.readline()
        assert f"on http://127.0.0.1:{port} " in ready, process.stderr
        with override_settings(SIMULATOR_DATABASE=database):
            token = run("simulator_token").strip()
        response = httpx.get(
            f"http://127.0.0.1:{port}/mqtt/downlinks", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    assert "Simulator stopped." in stdout
    assert token not in stdout + stderr
    assert "GET /mqtt/downlinks -> 200 (tenant demo" in stderr
