"""A team on a simulator that runs in its own process on the real clock (its request log's
times are when each request arrived, which the rate is measured by), and campaigns made the way
the pages make them: the targets and message forms, then the draft service."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.http import QueryDict

from audit.trail import Origin
from benchmarks.simulated_team import client_credentials
from benchmarks.simulator_process import SimulatorProcess, simulator_process
from campaigns import services
from campaigns.forms import TargetsForm, message_form
from campaigns.models import Campaign
from campaigns.rows import Message
from simulator.config import DEFAULT_AUDIENCE
from teams import services as team_services
from teams.models import Role, Team
from tests.teams.world import join, make_user
from things_portal.celery import app

ORIGIN = Origin.system("tests")
LORA_MESSAGE = {
    "payload": "01 02",
    "payload_format": "hex",
    "f_port": "7",
    "retry_limit": "0",
    "timeout_days": "0",
    "timeout_hours": "1",
    "timeout_minutes": "0",
}


def lora_ids(count: int, start: int = 0) -> list[str]:
    return [f"deveui:{number:016x}" for number in range(start, start + count)]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[SimulatorProcess]:
    with simulator_process(tmp_path) as running:
        yield running


def draft_campaign(
    team: Team,
    device_ids: list[str],
    *,
    message: dict[str, str] | None = None,
    name: str = "Reboot",
) -> Campaign:
    """A raw LoRa campaign as the new-campaign page makes one: both forms, then the draft."""
    data = QueryDict(mutable=True)
    data.update({"targets-name": name, "targets-device_ids": "\n".join(device_ids)})
    data.update(message or LORA_MESSAGE)
    targets = TargetsForm(data, team=team, kind="lora", prefix="targets")
    assert targets.is_valid(), targets.errors
    assert targets.targets is not None
    form = message_form(data, team=team, kind="lora", version=None)
    assert form.is_valid(), form.errors
    return services.campaign_draft(
        message=Message(team=team, kind="lora", form=form, data=data),
        targets=targets.targets,
        name=name,
        origin=ORIGIN,
        user=None,
    )


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
        team = team_services.team_create(slug=slug, name=slug.capitalize(), origin=ORIGIN)
        secret = f"{slug}-client-secret-value"
        api.register_client(slug, f"{slug}-portal", secret)
        client_credentials(
            team,
            api.url,
            tenant_id=slug,
            client_id=f"{slug}-portal",
            secret=secret,
            audience=DEFAULT_AUDIENCE,
        )
        team.campaign_rate = rate
        team.save(update_fields=["campaign_rate"])
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
