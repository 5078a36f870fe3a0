"""Campaigns sent by real Celery workers (processes of their own, as production runs them) to
the simulator over HTTP, in a process of its own: the team's rate holds in every second of the
simulator's request log, and each row is created exactly once, through a killed worker, a
restarted Redis, a 429 and two workers at once."""

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import Action, AuditEntry
from benchmarks.simulator_process import most_in_any_second
from campaigns import services
from campaigns.models import Campaign, CampaignState, RowState
from campaigns.selectors import Outcome, campaign_counts
from campaigns.tasks import run_campaign
from downlinks.models import SendState
from tests.campaigns.conftest import ORIGIN, WORKER_SETTINGS, Fleet, lora_ids
from tests.celery_processes import (
    Process,
    environment,
    processes,
    restart_redis,
    start_beat,
    start_worker,
)
from tests.polling import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
__all__ = ["processes"]  # the fixture, used by name


def finished(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.state == CampaignState.FINISHED


def creates_per_device(fleet: Fleet) -> Counter[str]:
    return Counter(item["body"]["deviceId"] for item in fleet.creates() if item["status"] == 201)


def assert_each_row_created_once(fleet: Fleet, campaign: Campaign, ids: list[str]) -> None:
    assert creates_per_device(fleet) == Counter(ids)
    rows = list(campaign.rows.select_related("downlink"))
    assert {row.state for row in rows} == {RowState.HANDED_OVER}
    assert {row.downlink.send_state for row in rows if row.downlink} == {SendState.SENT}
    finishes = AuditEntry.objects.filter(
        action=Action.CAMPAIGN_FINISHED, target_id=str(campaign.pk)
    )
    assert finishes.count() == 1


def test_200_devices_at_20_per_second_are_each_sent_once_within_the_rate(
    fleet_factory, processes: list[Process], tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(rate=20)
    start_worker(environment(**WORKER_SETTINGS), tmp_path / "worker.log", processes)
    ids = lora_ids(200)
    campaign = fleet.start(fleet.draft(ids))

    wait_until(lambda: finished(campaign), timeout=90, every=0.2)

    assert_each_row_created_once(fleet, campaign, ids)
    arrivals = fleet.arrivals()
    assert most_in_any_second(arrivals) <= 20
    # Not much slower either: 200 at 20/s take 10 s (the first 20 go at once).
    assert (max(arrivals) - min(arrivals)).total_seconds() < 12
    assert campaign_counts(campaign).of(Outcome.SENT) == 200


def test_a_killed_worker_and_a_restarted_redis_lose_no_row_and_double_none(
    fleet_factory, processes: list[Process], tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(rate=20)
    env = environment(**WORKER_SETTINGS)
    first = start_worker(env, tmp_path / "worker-1.log", processes)
    ids = lora_ids(120)
    campaign = fleet.start(fleet.draft(ids))
    wait_until(lambda: len(fleet.creates()) >= 40, timeout=60, every=0.05)

    first.kill()
    if settings.REDIS_URL:
        restart_redis()
    start_beat(env, tmp_path, processes)
    start_worker(env, tmp_path / "worker-2.log", processes)

    wait_until(lambda: finished(campaign), timeout=120, every=0.2)
    # A create cut off by the kill is an unknown outcome, never sent again: the poller finds it
    # on the platform if it arrived there, or after its deadline records it as not sent.
    unsettled = [SendState.SENDING, SendState.UNKNOWN]
    wait_until(
        lambda: not campaign.rows.filter(downlink__send_state__in=unsettled).exists(),
        timeout=60,
        every=0.2,
    )
    rows = list(campaign.rows.select_related("downlink"))
    assert len(rows) == len(ids)
    assert {row.state for row in rows} == {RowState.HANDED_OVER}
    creates = creates_per_device(fleet)
    for row in rows:
        assert row.downlink is not None
        expected = 1 if row.downlink.send_state == SendState.SENT else 0
        assert (row.downlink.send_state, creates[row.device_id]) in {
            (SendState.SENT, 1),
            (SendState.NOT_SENT, 0),
        }, row
        assert creates[row.device_id] == expected
    # At most the creates the killed worker's senders had under way were not sent.
    assert sum(creates.values()) >= len(ids) - settings.CAMPAIGN_SENDERS
    assert most_in_any_second(fleet.arrivals()) <= 20


def test_a_429_holds_the_team_for_its_retry_after_and_nothing_is_lost_or_doubled(
    fleet_factory, processes: list[Process], tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(rate=20)
    start_worker(environment(**WORKER_SETTINGS), tmp_path / "worker.log", processes)
    ids = lora_ids(100)
    campaign = fleet.start(fleet.draft(ids))
    wait_until(lambda: len(fleet.creates()) >= 30, timeout=60, every=0.05)
    fleet.fault(
        {"kind": "rate_limit", "method": "POST", "path": "/lora/downlinks", "times": 2,
         "retryAfter": 2}
    )  # fmt: skip

    wait_until(lambda: finished(campaign), timeout=90, every=0.2)

    assert_each_row_created_once(fleet, campaign, ids)
    refused = fleet.arrivals(status=429)
    assert len(refused) == 2
    # Creates already under way when the first 429 came back still arrive; after them nothing
    # for its Retry-After (2 s), then half the rate for a while.
    held = [
        moment for moment in fleet.arrivals() if 0.2 <= (moment - refused[0]).total_seconds() < 1.9
    ]
    assert held == []
    assert most_in_any_second([moment for moment in fleet.arrivals() if moment > refused[-1]]) <= 10
    # The two refused creates were tried again (each under a new key), nothing else was.
    attempts = campaign.rows.values_list("attempts", flat=True)
    assert sum(attempts) == len(ids) + 2


def test_two_workers_on_one_campaign_keep_the_rate_and_send_each_row_once(
    fleet_factory, processes: list[Process], tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(rate=20)
    # Both workers share the rate window in Redis (the broker stays as configured).
    env = environment(
        **WORKER_SETTINGS,
        CAMPAIGN_CHUNK="10",
        CAMPAIGN_RATE_REDIS_URL=settings.CAMPAIGN_RATE_REDIS_URL or "redis://127.0.0.1:6379/9",
    )
    for number in (1, 2):
        start_worker(env, tmp_path / f"worker-{number}.log", processes)
    ids = lora_ids(160)
    campaign = fleet.start(fleet.draft(ids))
    run_campaign.delay(campaign.pk)  # a second chain of chunks: both workers send at once

    wait_until(lambda: finished(campaign), timeout=90, every=0.2)

    assert_each_row_created_once(fleet, campaign, ids)
    assert most_in_any_second(fleet.arrivals()) <= 20


def test_a_campaign_for_later_is_started_by_the_beat_at_its_time_not_before(
    fleet_factory, processes: list[Process], tmp_path: Path
) -> None:
    fleet: Fleet = fleet_factory(rate=20)
    env = environment(**WORKER_SETTINGS)
    start_worker(env, tmp_path / "worker.log", processes)
    start_beat(env, tmp_path, processes)
    ids = lora_ids(10)
    start_at = timezone.now() + timedelta(seconds=3)
    campaign = services.campaign_start(
        campaign=fleet.draft(ids), origin=ORIGIN, send_anyway=False, start_at=start_at
    )
    assert campaign.state == CampaignState.SCHEDULED

    wait_until(lambda: finished(campaign), timeout=60, every=0.2)

    assert campaign.started_at is not None
    assert campaign.started_at >= start_at
    assert min(fleet.arrivals()) >= start_at
    assert creates_per_device(fleet) == Counter(ids)
