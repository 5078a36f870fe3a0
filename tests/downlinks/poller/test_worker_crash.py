"""A worker killed mid-cycle (SIGKILL) and, with Redis, a restarted broker: after recovery
every record converges to the simulator's truth within two intervals, and no status event is
stored twice. Real processes: `celery beat` and `celery worker`, as in production."""

import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db.models import Count

from downlinks.models import Downlink, StatusEvent, SyncState
from simulator.lifecycle import Kind as SimulatedKind
from tests.celery_processes import (
    Process,
    environment,
    processes,
    restart_redis,
    start_beat,
    start_worker,
)
from tests.downlinks.poller.conftest import SimulatedTeam
from tests.polling import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
__all__ = ["processes"]  # the fixture, used by name

INTERVAL = 3.0


def truth(team: SimulatedTeam, record: Downlink) -> tuple[str, str]:
    stored = team.simulator.store.get_downlink(
        SimulatedKind(record.kind), team.tenant, str(record.remote_id)
    )
    assert stored is not None
    body = stored.as_api()
    return body["status"], body.get("lastFailureReason", "")


def test_a_killed_worker_and_a_restarted_broker_lose_no_update(
    simulated_team: SimulatedTeam, processes: list[Process], tmp_path: Path
) -> None:
    records = [simulated_team.send_lora(bytes([n])) for n in range(25)]
    records += [simulated_team.send_mqtt(f"command {n}") for n in range(25)]
    env = environment(
        POLL_INTERVAL_SECONDS=str(INTERVAL), POLL_LOCK_SECONDS="2", POLL_PAGE_SIZE="10"
    )
    beat = start_beat(env, tmp_path, processes)
    worker = start_worker(env, tmp_path / "worker-1.log", processes)
    simulator = simulated_team.simulator
    wait_until(lambda: SyncState.objects.filter(last_success_at__isnull=False).exists(), timeout=30)

    # Slow the API down so a cycle takes seconds, let everything become EXECUTING, and kill
    # the worker as soon as a cycle has made its first call.
    httpx.post(
        f"{simulator.url}/_sim/faults", json={"kind": "latency", "delayMs": 250}
    ).raise_for_status()
    simulator.app.request_log.clear()
    simulator.clock.advance(6)
    wait_until(lambda: simulator.app.request_log.count(method="GET") >= 1, timeout=30)
    worker.kill()
    calls_at_kill = simulator.app.request_log.count(method="GET")
    assert calls_at_kill < 6  # a cycle of 2 x 25 downlinks in pages of 10 was cut short

    if settings.REDIS_URL:
        restart_redis()

    # While nothing polls, everything finishes in the simulator.
    simulator.clock.advance(60)
    httpx.delete(f"{simulator.url}/_sim/faults").raise_for_status()
    start_worker(env, tmp_path / "worker-2.log", processes)
    recovered_at = time.monotonic()
    wait_until(
        lambda: Downlink.objects.filter(status="DONE").count() == len(records),
        timeout=2 * INTERVAL + 10,
    )
    # Two intervals, plus the time one cycle takes (the worker starts its first on beat's
    # next tick), measured from the moment the new worker was ready.
    assert time.monotonic() - recovered_at <= 2 * INTERVAL + 5, beat.text()[-2000:]

    for record in Downlink.objects.all():
        assert (record.status, record.last_failure_reason) == truth(simulated_team, record)
    duplicates = (
        StatusEvent.objects.values("downlink", "status", "last_failure_reason", "retry_count")
        .annotate(times=Count("id"))
        .filter(times__gt=1)
    )
    assert not duplicates.exists()
    for record in Downlink.objects.all():
        statuses = list(record.events.values_list("status", flat=True))
        assert statuses[0] == "PENDING"
        assert statuses[-1] == "DONE"
        assert len(statuses) == len(set(statuses))
