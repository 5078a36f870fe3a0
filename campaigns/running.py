"""Sending a running campaign's rows: a few senders (threads) at once, each taking the next
queued row, waiting for the team's rate (campaigns.pace) right before the API call, and
sending it through the single send under the row's one-time key.

Exactly once: a row is claimed by a conditional UPDATE, and its create carries its key, so a
row taken twice (two workers, a sender thought dead) creates at most once; a create whose
answer never came is an unknown outcome for the poller to reconcile, never sent again. A 429
created nothing: the team waits for its Retry-After (every worker does), and the row goes
back to the queue under a new key. A row claimed by a sender that died is taken again after
CAMPAIGN_STALL_SECONDS, under the same key.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from audit.trail import Origin
from campaigns.models import Campaign, CampaignRow, CampaignState, RowState
from campaigns.pace import pacer
from campaigns.services import campaign_finish_if_done
from devices.models import Kind
from downlinks import services as downlinks
from downlinks.services import MadeWith
from things_api import NewLoraDownlink, NewMqttDownlink, ThingsRateLimited

log = logging.getLogger(__name__)

# How often a sender asks whether its campaign still runs (paused, cancelled).
STATE_CHECK_SECONDS = 0.25
# When a 429 says nothing about when to try again.
DEFAULT_RETRY_AFTER_SECONDS = 1.0


@dataclass
class Budget:
    """How many rows this run may still take (shared by its senders)."""

    left: int
    lock: threading.Lock

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


# PostgreSQL: the next row taken in one statement; senders at once skip each other's rows.
_CLAIM_SQL = """
UPDATE campaigns_campaignrow SET state = %s, claimed_at = %s
WHERE id = (
    SELECT id FROM campaigns_campaignrow
    WHERE campaign_id = %s AND (state = %s OR (state = %s AND claimed_at < %s))
    ORDER BY position LIMIT 1 FOR UPDATE SKIP LOCKED
)
RETURNING *
"""


def claim(campaign_id: int) -> CampaignRow | None:
    """The next row to send, taken by this sender alone; None when none is left."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CAMPAIGN_STALL_SECONDS)
    if connection.vendor == "postgresql":
        parameters = [RowState.SENDING, now, campaign_id, RowState.QUEUED, RowState.SENDING, stale]
        return next(iter(CampaignRow.objects.raw(_CLAIM_SQL, parameters)), None)
    claimable = Q(state=RowState.QUEUED) | Q(state=RowState.SENDING, claimed_at__lt=stale)
    rows = CampaignRow.objects.filter(claimable, campaign_id=campaign_id).order_by("position")
    while True:
        row = rows.first()
        if row is None:
            return None
        taken = CampaignRow.objects.filter(claimable, pk=row.pk).update(
            state=RowState.SENDING, claimed_at=timezone.now()
        )
        if taken:  # else another sender took it first: the next one
            row.state = RowState.SENDING
            return row


def _create_model(kind: str, body: dict[str, Any]) -> NewLoraDownlink | NewMqttDownlink:
    model = NewLoraDownlink if kind == Kind.LORA else NewMqttDownlink
    return model.model_validate(body)


@dataclass(frozen=True)
class TeamPace:
    """The team's rate at the wire (things_api.Pace): a slot right before each create goes
    out, and the whole team held the moment a 429 comes back, before anything is recorded."""

    team_id: int
    rate: int

    def before_send(self) -> None:
        while (wait := pacer().acquire(self.team_id, self.rate)) > 0:
            time.sleep(wait)

    def rate_limited(self, retry_after: float | None) -> None:
        pacer().hold(self.team_id, retry_after or DEFAULT_RETRY_AFTER_SECONDS)


def send_row(campaign: Campaign, row: CampaignRow) -> None:
    """Send one claimed row and record what became of it on the row."""
    rate = campaign.rate or 1
    made_with = None
    if campaign.template_version is not None:
        made_with = MadeWith(campaign.template_version, row.values, row.codec_version)
    result = downlinks.downlink_send(
        team=campaign.team,
        kind=campaign.kind,
        new=_create_model(campaign.kind, row.request_body),
        origin=Origin(actor_id=campaign.created_by_id, actor_label=f"campaign {campaign.pk}"),
        user=None,
        submission_key=row.submission_key,
        send_anyway=campaign.send_anyway,
        made_with=made_with,
        part_of={"campaign": {"id": campaign.pk, "row": row.position}},
        pace=TeamPace(campaign.team_id, rate),
    )
    if isinstance(result.error, ThingsRateLimited):
        # Nothing was created (the team is held already, see TeamPace): again, under a new key.
        CampaignRow.objects.filter(pk=row.pk).update(
            state=RowState.QUEUED,
            submission_key=downlinks.new_submission_key(),
            attempts=row.attempts + 1,
            claimed_at=None,
        )
        return
    if result.on_its_way:
        CampaignRow.objects.filter(pk=row.pk).update(state=RowState.SKIPPED)
        return
    CampaignRow.objects.filter(pk=row.pk).update(
        state=RowState.HANDED_OVER, downlink=result.record, attempts=row.attempts + 1
    )


def _still_running(campaign_id: int) -> bool:
    state = Campaign.objects.filter(pk=campaign_id).values_list("state", flat=True).first()
    return state == CampaignState.RUNNING


def _sender(campaign_id: int, budget: Budget) -> None:
    try:
        campaign = (
            Campaign.objects.select_related("team", "template_version__template")
            .filter(pk=campaign_id)
            .first()
        )
        beat = checked = 0.0
        while campaign is not None and budget.take():
            # Asked a few times a second, so a pause or a cancel stops the sending at once.
            if time.monotonic() - checked >= STATE_CHECK_SECONDS:
                if not _still_running(campaign_id):
                    return
                checked = time.monotonic()
            row = claim(campaign_id)
            if row is None:
                return
            send_row(campaign, row)
            if time.monotonic() - beat >= 1.0:  # the heartbeat: once a second is enough
                beat = time.monotonic()
                Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())
    except Exception:
        log.exception("A sender of campaign %s stopped", campaign_id)
        raise
    finally:
        connection.close()


def send_rows(campaign_id: int, *, rows: int | None = None) -> bool:
    """Send up to `rows` rows (CAMPAIGN_CHUNK) with CAMPAIGN_SENDERS senders; True when the
    campaign still runs and has rows left (the caller sends the next chunk)."""
    close_old_connections()
    budget = Budget(rows or settings.CAMPAIGN_CHUNK, threading.Lock())
    senders = [
        threading.Thread(target=_sender, args=(campaign_id, budget), daemon=True)
        for _ in range(max(1, settings.CAMPAIGN_SENDERS))
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    campaign_finish_if_done(campaign_id)
    running = Campaign.objects.filter(pk=campaign_id, state=CampaignState.RUNNING)
    return (
        running.exists()
        and CampaignRow.objects.filter(campaign_id=campaign_id, state=RowState.QUEUED).exists()
    )
