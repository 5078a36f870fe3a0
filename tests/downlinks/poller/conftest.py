"""A team whose credential points at the live simulator, and helpers to send through the portal."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from audit.trail import Origin
from benchmarks.simulated_team import team_on_simulator
from devices.models import Kind
from downlinks import services
from downlinks.models import Downlink
from simulator.server import RunningSimulator
from teams.models import Team
from things_api import (
    NewLoraDownlink,
    NewLoraMessage,
    NewMqttDownlink,
    NewMqttTextMessage,
)

PORTAL = Origin.system("tests")


@dataclass(frozen=True)
class SimulatedTeam:
    """Sends through the service, each call a deliberate new send (`send_anyway`: the same
    message twice is what these tests want; the duplicate guard is tested in tests/downlinks)."""

    team: Team
    tenant: str
    simulator: RunningSimulator

    def send_lora(self, payload: bytes = b"\x01", *, retry_limit: int = 0) -> Downlink:
        return self._send(
            Kind.LORA,
            NewLoraDownlink(
                device_id="deveui:ea8fa35e2cf3489f",
                message=NewLoraMessage.from_bytes(payload, f_port=7),
                feedback_timeout="PT10M",
                retry_limit=retry_limit,
            ),
        )

    def send_mqtt(self, text: str = "reboot") -> Downlink:
        return self._send(
            Kind.MQTT,
            NewMqttDownlink(
                device_id="imei:350266800610993",
                message=NewMqttTextMessage(type="text", payload=text, topic="commands"),
                feedback_timeout="PT10M",
            ),
        )

    def _send(self, kind: Kind, new: NewLoraDownlink | NewMqttDownlink) -> Downlink:
        result = services.downlink_send(
            submission_key=services.new_submission_key(),
            send_anyway=True,
            team=self.team,
            kind=kind,
            new=new,
            origin=PORTAL,
            user=None,
        )
        assert result.record is not None
        return result.record


def make_simulated_team(simulator: RunningSimulator, slug: str) -> SimulatedTeam:
    return SimulatedTeam(team_on_simulator(simulator, slug), slug, simulator)


@pytest.fixture
def simulated_team(db: None, simulator: RunningSimulator) -> SimulatedTeam:
    return make_simulated_team(simulator, "acme")


@pytest.fixture
def simulated_team_factory(db: None, simulator: RunningSimulator) -> Callable[[str], SimulatedTeam]:
    return lambda slug: make_simulated_team(simulator, slug)
