"""Celery tasks of campaigns. `run_campaign` sends one chunk and queues the next, so a long
campaign is many short tasks; `campaigns_tick` (beat) starts the scheduled campaigns whose time
has come and picks up a running one whose senders all died (a killed worker): its rows are
taken again under their one-time keys, so nothing is sent twice."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from campaigns import running
from campaigns.models import Campaign, CampaignState
from campaigns.services import campaign_finish_if_done, scheduled_due


@shared_task(ignore_result=True, acks_late=True)
def run_campaign(campaign_id: int) -> None:
    if running.send_rows(campaign_id):
        run_campaign.delay(campaign_id)


@shared_task(ignore_result=True)
def campaigns_tick() -> int:
    """Returns how many campaigns it set going."""
    going = scheduled_due()
    stale = timezone.now() - timedelta(seconds=settings.CAMPAIGN_STALL_SECONDS)
    stalled = Campaign.objects.filter(state=CampaignState.RUNNING, heartbeat_at__lt=stale)
    for campaign_id in stalled.values_list("pk", flat=True):
        if not campaign_finish_if_done(campaign_id):
            # Marked alive now, so the next tick does not queue it again while it runs.
            Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())
            going.append(campaign_id)
    for campaign_id in going:
        run_campaign.delay(campaign_id)
    return len(going)
