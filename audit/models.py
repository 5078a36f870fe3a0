"""The audit trail: an append-only, hash-chained record of every action in the portal.

It is a leaf: it records what it is given (who, which team, what was asked, what was
answered) and knows nothing of teams' or downlinks' internals. Users and teams are kept as
plain ids plus a readable label, not foreign keys: an entry must stay readable after the user
or team is deleted, and a foreign key's ON DELETE would have to UPDATE the row, which the
database refuses (see the migration's trigger).
"""

from django.db import models


class Action(models.TextChoices):
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Failed to sign in"
    LOCKED_OUT = "locked_out", "Locked out"
    SIGN_OUT = "sign_out", "Signed out"
    PASSWORD_CHANGED = "password_changed", "Changed password"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Asked for a password reset"
    PASSWORD_RESET_DONE = "password_reset_done", "Reset password by email"
    TIME_ZONE_CHANGED = "time_zone_changed", "Changed time zone"
    # Django's admin, on someone else's account (accounts/admin.py).
    USER_CREATED = "user_created", "Created user"
    USER_CHANGED = "user_changed", "Changed user"
    USER_PASSWORD_SET = "user_password_set", "Set user's password"
    USER_DELETED = "user_deleted", "Deleted user"
    TEAM_CREATED = "team_created", "Created team"
    MEMBER_ADDED = "member_added", "Added member"
    MEMBER_ROLE_CHANGED = "member_role_changed", "Changed member's role"
    MEMBER_REMOVED = "member_removed", "Removed member"
    CREDENTIAL_CHANGED = "credential_changed", "Changed credential"
    LORA_PAYLOAD_LIMIT_CHANGED = "lora_payload_limit_changed", "Changed LoRa payload limit"
    CREDENTIAL_TESTED = "credential_tested", "Tested connection"
    ENCRYPTION_KEYS_ROTATED = "encryption_keys_rotated", "Re-encrypted credentials"
    DEVICE_TYPE_CREATED = "device_type_created", "Created device type"
    DEVICE_TYPE_CHANGED = "device_type_changed", "Changed device type"
    CODEC_UPLOADED = "codec_uploaded", "Uploaded codec"
    DEVICE_ADDED = "device_added", "Added device"
    DEVICE_CHANGED = "device_changed", "Changed device"
    DEVICE_REMOVED = "device_removed", "Removed device"
    DEVICES_IMPORTED = "devices_imported", "Imported devices"
    TEMPLATES_ONLY_CHANGED = "templates_only_changed", "Changed templates-only rule"
    TEMPLATE_CREATED = "template_created", "Created template"
    TEMPLATE_CHANGED = "template_changed", "Changed template"
    CAMPAIGN_CREATED = "campaign_created", "Created campaign"
    CAMPAIGN_SUBMITTED = "campaign_submitted", "Asked for approval of campaign"
    CAMPAIGN_APPROVED = "campaign_approved", "Approved campaign"
    CAMPAIGN_STARTED = "campaign_started", "Started campaign"
    CAMPAIGN_PAUSED = "campaign_paused", "Paused campaign"
    CAMPAIGN_RESUMED = "campaign_resumed", "Resumed campaign"
    CAMPAIGN_CANCELLED = "campaign_cancelled", "Cancelled campaign"
    CAMPAIGN_FINISHED = "campaign_finished", "Campaign finished"
    CAMPAIGN_SETTINGS_CHANGED = "campaign_settings_changed", "Changed campaign settings"
    DOWNLINK_SEND = "downlink_send", "Sent downlink"
    DOWNLINK_CANCEL = "downlink_cancel", "Cancelled downlink"


def action_choices() -> list[tuple[str, str]]:
    """The field's choices, by reference: a new action needs no migration (choices are not
    part of the schema)."""
    return Action.choices


class Phase(models.TextChoices):
    EVENT = "event", "Event"
    ATTEMPT = "attempt", "Attempt"
    OUTCOME = "outcome", "Outcome"


class Outcome(models.TextChoices):
    OK = "ok", "Succeeded"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    NOT_SENT = "not_sent", "Not sent"
    PENDING = "pending", "Awaiting outcome"


# An attempted action and what came of it, in words, for the audit page: the API's "yes" is
# "accepted by the API", never "succeeded" (which reads as delivered). Display only: the stored
# values stay as they are. Each is (what was done or asked, what came of it).
_ATTEMPT_WORDS: dict[tuple[str, str], tuple[str, str]] = {
    (Action.DOWNLINK_SEND, Outcome.OK): ("Sent downlink", "accepted by the API"),
    (Action.DOWNLINK_SEND, Outcome.REFUSED): ("Downlink not sent", "refused by the API"),
    (Action.DOWNLINK_SEND, Outcome.FAILED): ("Downlink not sent", "the request failed"),
    (Action.DOWNLINK_SEND, Outcome.NOT_SENT): ("Downlink not sent", "not found on the platform"),
    (Action.DOWNLINK_SEND, Outcome.UNKNOWN): ("Send asked", "outcome unknown"),
    (Action.DOWNLINK_CANCEL, Outcome.OK): ("Cancel asked", "accepted by the API"),
    (Action.DOWNLINK_CANCEL, Outcome.REFUSED): ("Cancel asked", "refused by the API"),
    (Action.DOWNLINK_CANCEL, Outcome.FAILED): ("Cancel asked", "not carried out"),
    (Action.DOWNLINK_CANCEL, Outcome.UNKNOWN): ("Cancel asked", "outcome unknown"),
}
# An attempt itself, before what came of it.
_ASKED: dict[str, str] = {
    Action.DOWNLINK_SEND: "Send asked",
    Action.DOWNLINK_CANCEL: "Cancel asked",
}
# An outcome that says nothing yet: the attempt's own PENDING, or none recorded at all.
_NO_OUTCOME = ("", Outcome.PENDING)


def attempt_in_words(action: str, outcome: str) -> str:
    """What an attempt came to, in words: "Sent downlink — accepted by the API", "Cancel
    asked — refused by the API". `outcome` is the latest of its outcome entries, "" for an
    attempt that has none (which is "outcome unknown": the call may or may not have been
    made). An action or outcome without words of its own reads as its labels."""
    if outcome in _NO_OUTCOME:
        outcome = Outcome.UNKNOWN
    words = _ATTEMPT_WORDS.get((action, outcome))
    if words is not None:
        return f"{words[0]} — {words[1]}"
    action_label = Action(action).label if action in Action.values else action
    outcome_label = Outcome(outcome).label if outcome in Outcome.values else outcome
    return f"{action_label} — {outcome_label.lower()}"


class AuditEntry(models.Model):
    # The position in the hash chain, assigned under the chain head's lock.
    sequence = models.BigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(db_index=True, editable=False)
    action = models.CharField(max_length=40, choices=action_choices, db_index=True)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.EVENT)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    # For an outcome: the sequence of the attempt it completes.
    attempt_sequence = models.BigIntegerField(null=True, blank=True, db_index=True)

    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=150, blank=True, db_index=True)
    team_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    team_label = models.CharField(max_length=100, blank=True)

    target_kind = models.CharField(max_length=20, blank=True)
    target_id = models.CharField(max_length=100, blank=True, db_index=True)
    device_id = models.CharField(max_length=100, blank=True, db_index=True)
    summary = models.CharField(max_length=300, blank=True)
    asked = models.JSONField(default=dict, blank=True)
    answered = models.JSONField(default=dict, blank=True)

    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    previous_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Which AUDIT_CHAIN_KEYS key the hash is an HMAC under (audit.keys.key_id); empty for an
    # entry hashed with plain SHA-256, as all were before keyed hashing (audit.chain).
    key_id = models.CharField(max_length=16, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-sequence"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["team_id", "-sequence"])]

    def __str__(self) -> str:
        return (
            f"#{self.sequence} {self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"
        )

    @property
    def in_words(self) -> str:
        """The entry as one line says it: an outcome as what its attempt came to (see
        attempt_in_words), an attempt as asked, an event with how it went."""
        if self.phase == Phase.OUTCOME:
            return attempt_in_words(self.action, self.outcome)
        label = self.get_action_display()
        if self.phase == Phase.ATTEMPT:
            return _ASKED.get(self.action, f"{label} (attempt)")
        return f"{label} ({self.get_outcome_display().lower()})" if self.outcome else label


class ChainHead(models.Model):
    """The single row that holds the end of the chain; appending locks it, which serializes
    appends so the chain never forks. The database refuses to delete it or to move it back
    (see the migrations' triggers)."""

    sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain at #{self.sequence}"
