"""Health of the poller: a panel for team admins, and /healthz for operators."""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import LazySettings
from django.test import Client
from django.utils import timezone

from downlinks.models import Downlink, SyncState
from downlinks.polling import poll_team
from teams.models import Role
from tests.downlinks.poller.conftest import SimulatedTeam
from tests.teams.world import member_client

pytestmark = pytest.mark.django_db


OPERATORS_TOKEN = "operators-health-token-7Yq"


@pytest.fixture(autouse=True)
def _operators_token(settings: LazySettings) -> None:
    settings.HEALTHZ_TOKEN = OPERATORS_TOKEN


def sync_health(client: Client) -> tuple[int, dict[str, Any]]:
    """/healthz as the operators' monitoring asks (with their token, so with the details): its
    status code and its sync check."""
    response = client.get("/healthz", headers={"Authorization": f"Bearer {OPERATORS_TOKEN}"})
    sync: dict[str, Any] = response.json()["checks"]["sync"]
    return response.status_code, sync


def healthy_sync_detail(client: Client) -> str:
    """The sync check's detail, /healthz answering 200 (healthy)."""
    status, sync = sync_health(client)
    assert status == 200, sync
    detail: str = sync["detail"]
    return detail


def test_healthz_reports_the_age_of_the_last_successful_sync(
    simulated_team: SimulatedTeam, settings: LazySettings, client: Client
) -> None:
    settings.POLL_HEALTH_MAX_AGE_SECONDS = 60
    assert sync_health(client)[1] == {"ok": True, "detail": "nothing to follow"}

    record = simulated_team.send_lora()
    assert sync_health(client)[0] == 200  # just sent: not behind yet

    Downlink.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    status, sync = sync_health(client)
    assert status == 503
    assert sync["ok"] is False

    poll_team(simulated_team.team.pk)
    assert "oldest last successful sync 0 s ago" in healthy_sync_detail(client)


def test_team_admins_see_the_poller_s_state(simulated_team: SimulatedTeam) -> None:
    simulated_team.send_lora()
    simulated_team.send_lora()
    simulated_team.send_mqtt()
    poll_team(simulated_team.team.pk)
    admin = member_client(simulated_team.team, "chief", Role.ADMIN)
    page = admin.get(f"/t/{simulated_team.team.slug}/sync/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<td>LoRa</td>\n      <td>2</td>" in text
    assert "<td>MQTT</td>\n      <td>1</td>" in text
    assert "1 API call" in text
    operator = member_client(simulated_team.team, "hands", Role.OPERATOR)
    assert operator.get(f"/t/{simulated_team.team.slug}/sync/").status_code == 403


def test_the_panel_says_idle_when_nothing_is_followed(simulated_team: SimulatedTeam) -> None:
    simulated_team.send_lora()
    simulated_team.simulator.clock.advance(60)
    poll_team(simulated_team.team.pk)  # the downlink is DONE: nothing left to follow
    admin = member_client(simulated_team.team, "chief", Role.ADMIN)
    text = admin.get(f"/t/{simulated_team.team.slug}/sync/").content.decode()
    assert text.count("idle: nothing to follow") == 2


def test_a_kind_with_nothing_to_follow_does_not_count_however_old_its_sync(
    simulated_team: SimulatedTeam, settings: LazySettings, client: Client
) -> None:
    """The idle portal that said 503 "oldest last successful sync 1309 s ago": the age was
    taken over both kinds, the one without work included."""
    settings.POLL_HEALTH_MAX_AGE_SECONDS = 60
    simulated_team.send_mqtt()
    simulated_team.simulator.clock.advance(60)
    poll_team(simulated_team.team.pk)  # MQTT: DONE, nothing left to follow
    an_hour_ago = timezone.now() - timedelta(hours=1)
    SyncState.objects.filter(team=simulated_team.team).update(last_success_at=an_hour_ago)
    assert sync_health(client)[0] == 200

    # A first send of another kind, on a team whose last sync is long ago: not behind yet.
    simulated_team.send_lora()
    assert "oldest last successful sync 0 s ago" in healthy_sync_detail(client)


def test_a_team_whose_credential_is_refused_is_reported_not_counted(
    simulated_team: SimulatedTeam, settings: LazySettings, client: Client
) -> None:
    settings.POLL_HEALTH_MAX_AGE_SECONDS = 60
    record = simulated_team.send_lora()
    Downlink.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert sync_health(client)[0] == 503  # behind, for a reason this node can fix
    SyncState.objects.update_or_create(
        team=simulated_team.team, kind="lora", defaults={"credential_rejected": True}
    )
    assert "1 team kind with a refused credential (not counted)" in healthy_sync_detail(client)


def test_healthz_answers_plain_http_with_any_host_behind_the_https_redirect(
    db: None, settings: LazySettings, client: Client
) -> None:
    """The container's own check: http://127.0.0.1:8000/healthz, with production settings."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    answer = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert "no-cache" in answer["Cache-Control"]
    # Every other page still goes to HTTPS, and an unknown host is still refused.
    assert client.get("/accounts/sign-in/", HTTP_HOST="portal.example.com").status_code == 301
    assert client.get("/accounts/sign-in/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.post("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 405
