"""A team on a simulator that runs in its own process on the real clock (its request log's
times are when each request arrived, which the rate is measured by), and campaigns made the way
the pages make them: the targets and message forms, then the draft service."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from audit.trail import Origin
from benchmarks import campaign as campaign_benchmark
from benchmarks.simulator_process import SimulatorProcess, simulator_process
from campaigns import services
from campaigns.models import Campaign
from teams.models import Role, Team
from tests.teams.world import join, make_user
from things_portal.celery import app

ORIGIN = Origin.system("tests")
LORA_MESSAGE = campaign_benchmark.LORA_MESSAGE
lora_ids = campaign_benchmark.lora_ids


@pytest.fixture
def api(tmp_path: Path) -> Iterator[SimulatorProcess]:
    with simulator_process(tmp_path) as running:
        yield running


def draft_campaign(team: Team, device_ids: list[str], *, name: str = "Reboot") -> Campaign:
    """A raw LoRa campaign as the new-campaign page makes one: both forms, then the draft."""
    return cast(Campaign, campaign_benchmark.draft(team, device_ids, name=name))


@dataclass
class Fleet:
    team: Team
    api: SimulatorProcess

    def creates(self) -> list[dict[str, Any]]:
        return self.api.creates()

    def arrivals(self, status: int = 201) -> list[datetime]:
        return self.api.arrivals(status=status)

    def fault(self, rule: dict[str, Any]) -> None:
        self.api.fault(rule)

    def draft(self, device_ids: list[str], *, name: str = "Reboot") -> Campaign:
        return draft_campaign(self.team, device_ids, name=name)

    def start(self, campaign: Campaign, *, send_anyway: bool = False) -> Campaign:
        return services.campaign_start(campaign=campaign, origin=ORIGIN, send_anyway=send_anyway)


@pytest.fixture
def fleet_factory(db: None, api: SimulatorProcess) -> Callable[..., Fleet]:
    def make(rate: int = 20, slug: str = "fleet") -> Fleet:
        app.control.purge()  # no task left over from an earlier test
        team = campaign_benchmark.make_team(api, slug, rate)
        join(make_user(f"{slug}-operator"), team, Role.OPERATOR)
        return Fleet(team, api)

    return make


# The workers' settings: a stall is noticed within seconds, a create stuck "sending" is an
# unknown outcome after 3 s, the poller reconciles every 2 s and gives up on finding one after 6.
WORKER_SETTINGS = {
    "CAMPAIGN_STALL_SECONDS": "3",
    "CAMPAIGN_TICK_SECONDS": "1",
    "SEND_STUCK_AFTER_SECONDS": "3",
    "POLL_INTERVAL_SECONDS": "2",
    "POLL_LOCK_SECONDS": "5",
    "RECONCILE_DEADLINE_SECONDS": "6",
}
