"""Campaigns: one downlink to many devices, sent at the team's rate, with a row per device.

A row is made, checked and encoded when the campaign is previewed, and sent once: through the
single send (downlinks.services.downlink_send) under the row's own one-time key, so a worker
that dies mid-create leaves an unknown outcome for the poller to reconcile, never a second
create. What became of a sent row is its downlink record's (which the poller keeps up to
date): the row only says how far the campaign got with it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from command_templates.models import TemplateVersion
from devices.models import Kind
from downlinks.models import Downlink
from teams.models import Team


class CampaignState(models.TextChoices):
    DRAFT = "draft", "Draft (previewed, not started)"
    AWAITING_APPROVAL = "awaiting", "Waiting for approval"
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    FINISHED = "finished", "Finished sending"


# A campaign in these states may still send.
ACTIVE_STATES = (
    CampaignState.AWAITING_APPROVAL,
    CampaignState.SCHEDULED,
    CampaignState.RUNNING,
    CampaignState.PAUSED,
)


class Campaign(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="campaigns")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    name = models.CharField(max_length=100)
    state = models.CharField(
        max_length=10, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # What is sent: a template version with its shared values (rows may add their own), or a
    # raw message; `message` is the create body without the device (what every row shares).
    template_version = models.ForeignKey(
        TemplateVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shared_values = models.JSONField(default=dict, blank=True)
    message = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=200, blank=True)
    # What the preview found besides the rows: duplicates merged, lines that were not ids.
    notes = models.JSONField(default=dict, blank=True)
    # Creates per second, the team's rate when the campaign was started.
    rate = models.PositiveSmallIntegerField(null=True, blank=True)
    # Rows whose device already had a downlink on its way are sent anyway only if this is set.
    send_anyway = models.BooleanField(default=False)
    start_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The last time a sender made progress (or started): a running campaign whose senders
    # all died is picked up again by the beat (campaigns.tasks.campaigns_tick).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by_label = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # "Re-run": the campaign this one was made from.
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def needs_approval(self, sendable: int) -> bool:
        """Whether the team's rules ask a second person to approve it before it starts."""
        team = self.team
        above = team.campaign_approval_above
        return (above is not None and sendable > above) or (
            team.campaign_approval_raw and self.template_version_id is None
        )


class RowState(models.TextChoices):
    """How far the campaign got with a row. After HANDED_OVER the row's downlink record says
    what happened (sent, refused, outcome unknown, delivered, failed …)."""

    INVALID = "invalid", "Not sendable"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    HANDED_OVER = "handed_over", "Sent (see its downlink)"
    SKIPPED = "skipped", "Skipped: already on its way"
    CANCELLED = "cancelled", "Not sent: campaign cancelled"


class CampaignRow(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()  # the line of the pasted list or CSV (from 1)
    device_id = models.CharField(max_length=100)
    values = models.JSONField(default=dict, blank=True)  # this row's own template values
    # The create body as previewed (deviceId included): exactly what is sent.
    request_body = models.JSONField(default=dict, blank=True)
    payload_summary = models.CharField(max_length=200, blank=True)
    codec_version = models.ForeignKey(
        "devices.CodecVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    problem = models.CharField(max_length=500, blank=True)  # why it cannot be sent, in words
    # The preview saw a downlink on its way to this device (the duplicate guard).
    on_its_way = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=RowState.choices, default=RowState.QUEUED)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The one-time key of the row's current create (a new one only after a create that
    # certainly did not happen: a 429).
    submission_key = models.CharField(max_length=100)
    attempts = models.PositiveSmallIntegerField(default=0)
    downlink = models.OneToOneField(
        Downlink, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_row"
    )

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint("campaign", "position", name="campaign_row_position_unique"),
        ]
        indexes = [models.Index(fields=["campaign", "state"])]

    def __str__(self) -> str:
        return f"{self.campaign_id} #{self.position} {self.device_id}"
