"""The portal's own record of downlinks: those it sent (or cancelled), and what it saw happen
to them. The Things API remains the truth; these records are what the portal knows of it,
kept so the history survives and the poller knows what to follow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from devices.models import Kind
from teams.models import Team
from things_api import DONE, same_device_key


class SendState(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    REFUSED = "refused", "Refused by the API"
    FAILED = "failed", "Not sent"
    UNKNOWN = "unknown", "Outcome unknown"
    NOT_SENT = "not_sent", "Not sent (reconciled)"


class Origin(models.TextChoices):
    SENT_HERE = "sent", "Sent from the portal"
    CANCELLED_HERE = "cancelled", "Cancelled from the portal"


class CancelState(models.TextChoices):
    NONE = "", "Not cancelled from the portal"
    ACCEPTED = "accepted", "Cancellation accepted"
    UNKNOWN = "unknown", "Cancellation outcome unknown"
    # An unknown outcome that the poller then saw had not taken effect: Cancel is offered again.
    NOT_TAKEN = "not_taken", "Cancellation did not take effect"


def stuck_before() -> datetime:
    """A create still "sending" since before this has lost its process (a crash mid-call)."""
    return timezone.now() - timedelta(seconds=settings.SEND_STUCK_AFTER_SECONDS)


def outcome_unknown_condition() -> Q:
    """A create that may or may not have happened; one still "sending" long after its call
    must have ended counts too (`Downlink.outcome_is_unknown` in Python)."""
    return Q(send_state=SendState.UNKNOWN) | Q(
        send_state=SendState.SENDING, created_at__lt=stuck_before()
    )


class DownlinkQuerySet(models.QuerySet["Downlink"]):
    """The questions the portal asks of its records, each answered in one place."""

    def followed(self) -> DownlinkQuerySet:
        """Created on the platform and not DONE yet: the poller follows these."""
        return self.filter(remote_id__isnull=False, send_state=SendState.SENT).exclude(status=DONE)

    def outcome_unknown(self) -> DownlinkQuerySet:
        """Creates that may or may not have happened: never sent again, reconciled instead."""
        return self.filter(outcome_unknown_condition())

    def with_work(self) -> DownlinkQuerySet:
        """What the poller has to do anything about: followed or of unknown outcome."""
        return self.followed() | self.outcome_unknown()

    def on_its_way(self) -> DownlinkQuerySet:
        """Sent, being sent or maybe sent, and not known to be finished: what a new send to
        the same device could repeat."""
        return self.followed() | self.filter(send_state__in=[SendState.SENDING, SendState.UNKNOWN])

    def team_ids(self) -> list[int]:
        """The distinct teams of these records (the model's ordering left out of DISTINCT)."""
        return list(self.order_by().values_list("team_id", flat=True).distinct())


class Downlink(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="downlinks")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.SENT_HERE)
    # Unknown until the API answers the create (and for ever, if it never does).
    remote_id = models.UUIDField(null=True, blank=True)
    device_id = models.CharField(max_length=100, db_index=True)
    # The id in one spelling (things_api.same_device_key), set on save: what the duplicate
    # guard looks a device up by, one indexed comparison for every spelling of it.
    device_key = models.CharField(max_length=100, db_index=True, default="")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    sent_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # What was sent, as sent (the create body), for clone and for reconciling unknown outcomes.
    request_body = models.JSONField(default=dict, blank=True)
    payload_summary = models.CharField(max_length=200, blank=True)
    send_state = models.CharField(
        max_length=10, choices=SendState.choices, default=SendState.SENDING
    )
    send_attempt_sequence = models.BigIntegerField(null=True, blank=True)
    send_problem = models.JSONField(default=dict, blank=True)
    # What the person was told when the create did not succeed, in words.
    send_message = models.CharField(max_length=500, blank=True)
    # The one-time key of the form (or bulk row) this create came from: a second submission
    # with the same key finds this record instead of creating again. NULL (not "") for the
    # records without one (cancelled here), which a unique constraint does not compare.
    submission_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    # Sent from a template: the version, the values it was given and the codec version that
    # made the bytes (for "what did we send?", and clone with the same values).
    template_version = models.ForeignKey(
        "command_templates.TemplateVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downlinks",
    )
    template_values = models.JSONField(default=dict, blank=True)
    codec_version = models.ForeignKey(
        "devices.CodecVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downlinks",
    )
    # The last state the portal saw (from the create answer, a page, or the poller).
    status = models.CharField(max_length=40, blank=True)
    last_failure_reason = models.CharField(max_length=60, blank=True)
    retry_count = models.PositiveIntegerField(null=True, blank=True)
    remote_created_at = models.DateTimeField(null=True, blank=True)
    remote_modified_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_forced = models.BooleanField(default=False)
    cancel_state = models.CharField(
        max_length=10, choices=CancelState.choices, default=CancelState.NONE, blank=True
    )
    cancel_attempt_sequence = models.BigIntegerField(null=True, blank=True)

    objects = DownlinkQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "kind", "remote_id"], name="one_record_per_remote_downlink"
            ),
            models.UniqueConstraint(
                fields=["team", "submission_key"], name="one_record_per_submission"
            ),
        ]
        indexes = [models.Index(fields=["team", "kind", "status"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} downlink {self.remote_id or '(unknown id)'} to {self.device_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.device_key = same_device_key(self.device_id)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "device_id" in update_fields:
            kwargs["update_fields"] = {*update_fields, "device_key"}
        super().save(*args, **kwargs)

    @property
    def is_done(self) -> bool:
        return self.status == DONE

    @property
    def outcome_is_unknown(self) -> bool:
        return self.send_state == SendState.UNKNOWN or (
            self.send_state == SendState.SENDING and self.created_at < stuck_before()
        )

    @property
    def cancel_is_pending(self) -> bool:
        """A cancellation was asked for and may yet take effect: Cancel is not offered again."""
        return self.cancel_state in (CancelState.ACCEPTED, CancelState.UNKNOWN)


class StatusEvent(models.Model):
    """One change the portal observed, recorded once: the unique constraint makes a repeated
    observation (two pollers, a page and the poller) a no-op."""

    downlink = models.ForeignKey(Downlink, on_delete=models.CASCADE, related_name="events")
    observed_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=40)
    last_failure_reason = models.CharField(max_length=60, blank=True)
    retry_count = models.PositiveIntegerField(default=0)  # always 0 for MQTT
    remote_modified_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["downlink", "status", "last_failure_reason", "retry_count"],
                name="one_event_per_observed_state",
            )
        ]
        ordering = ["observed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.downlink_id}: {self.status} {self.last_failure_reason}".strip()


class SyncState(models.Model):
    """How the poller is doing for one team and kind: its watermark, errors and backoff."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="sync_states")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    # The portal's time at the start of the last cycle that completed: the next search asks
    # for what changed since then, minus an overlap for clock skew.
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # The largest `modifiedAt` the searches have returned, in the API's own clock: the next
    # search asks from there (inclusive), so no clock difference can lose a change and what
    # was read is not read again.
    watermark = models.DateTimeField(null=True, blank=True)
    last_changed = models.PositiveIntegerField(default=0)
    last_api_calls = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    credential_rejected = models.BooleanField(default=False)
    backoff_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "kind"], name="one_sync_state_per_team_kind")
        ]

    def __str__(self) -> str:
        return f"sync of {self.team_id} {self.kind}"


class PollLock(models.Model):
    """One poll at a time per team: a row with an owner and an expiry (see downlinks.locks)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="poll_lock")
    owner = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"poll lock of {self.team_id}"
