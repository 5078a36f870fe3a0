"""The poller through Celery for real: a worker consuming from the configured broker (the
filesystem broker by default, Redis in CI), as beat would trigger it."""

from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import Client

from downlinks.models import Downlink, StatusEvent
from downlinks.tasks import poll_all_teams
from downlinks.templatetags.downlink_tags import SOURCES_IN_WORDS
from teams.models import Role
from tests.downlinks.poller import wait_until_done
from tests.downlinks.poller.conftest import SimulatedTeam
from tests.teams.world import join, make_user, sign_in
from things_portal.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker() -> Iterator[None]:
    app.control.purge()  # nothing left over from an earlier run
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def test_the_broker_is_the_one_configured() -> None:
    expected = settings.REDIS_URL or "filesystem://"
    assert app.conf.broker_url == expected


def test_status_changes_in_the_simulator_reach_the_records_and_the_detail_page(
    simulated_team: SimulatedTeam, worker: None
) -> None:
    delivered = simulated_team.send_lora(b"\x01\x02")
    failed = simulated_team.send_mqtt("sim:FEEDBACK_TIMEOUT")
    simulated_team.simulator.clock.advance(30)  # both finish in the simulator

    poll_all_teams.delay()
    wait_until_done([delivered, failed])

    delivered.refresh_from_db()
    failed.refresh_from_db()
    assert (delivered.status, delivered.last_failure_reason) == ("DONE", "")
    assert (failed.status, failed.last_failure_reason) == ("DONE", "FEEDBACK_TIMEOUT")
    assert list(failed.events.values_list("status", flat=True)) == ["PENDING", "DONE"]

    viewer = make_user("watcher")
    join(viewer, simulated_team.team, Role.VIEWER)
    page = (
        sign_in(Client(), viewer)
        .get(f"/t/{simulated_team.team.slug}/mqtt/{failed.remote_id}/")
        .content.decode()
    )
    assert "Failed: FEEDBACK_TIMEOUT" in page
    assert "No feedback came from the device" in page
    assert page.count(f"<td>{SOURCES_IN_WORDS['poller']}</td>") == 1
    assert StatusEvent.objects.filter(downlink__in=Downlink.objects.all()).count() == 4
