"""A team's catalogue of its devices: device types (with the vendor's payload codec, kept in
versions), and the devices it knows by id, label and tags. Downlinks are sent to devices of
these kinds; a device not listed here can still be sent to by id."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from teams.models import LORA_PAYLOAD_LIMIT_MAX, Team
from things_api import MAX_F_PORT, MIN_F_PORT


class Kind(models.TextChoices):
    """The two Downlinks APIs: a device, its type and its downlinks are of one of them."""

    LORA = "lora", "LoRa"
    MQTT = "mqtt", "MQTT"


class DeviceType(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="device_types")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=4, choices=Kind.choices)
    default_f_port = models.PositiveSmallIntegerField(
        "default fPort",
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_F_PORT), MaxValueValidator(MAX_F_PORT)],
    )
    default_topic = models.CharField("default topic", max_length=200, blank=True)
    payload_limit = models.PositiveSmallIntegerField(
        "payload limit",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(LORA_PAYLOAD_LIMIT_MAX)],
        help_text="The most bytes this type takes in one downlink, if less than the team's.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("team", Lower("name"), name="device_type_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def current_codec(self) -> CodecVersion | None:
        """The newest codec version: from a prefetch when the caller made one (a list of
        types), else by a query for it alone (not every version's source)."""
        if "codec_versions" in getattr(self, "_prefetched_objects_cache", {}):
            versions = list(self.codec_versions.all())
            return max(versions, key=lambda version: version.number) if versions else None
        return self.codec_versions.order_by("-number").first()


class CodecVersion(models.Model):
    """One upload of a device type's codec; never changed afterwards, so a downlink can say
    which version made its bytes."""

    device_type = models.ForeignKey(
        DeviceType, on_delete=models.CASCADE, related_name="codec_versions"
    )
    number = models.PositiveIntegerField()
    source = models.TextField()
    examples = models.TextField(blank=True)
    examples_run = models.PositiveIntegerField(default=0)
    has_decoder = models.BooleanField(default=False)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["device_type", "-number"]
        constraints = [
            models.UniqueConstraint("device_type", "number", name="codec_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.device_type.name} codec v{self.number}"

    @staticmethod
    def digest(source: str) -> str:
        return hashlib.sha256(source.encode()).hexdigest()


class DeviceTag(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="device_tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("team", "name", name="device_tag_name_unique")]

    def __str__(self) -> str:
        return self.name


class Device(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="devices")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    device_id = models.CharField("device id", max_length=100)
    # The id in one spelling (things_api.same_device_key): deveui:AB… and urn:dev:deveui:ab…
    # are one device.
    key = models.CharField(max_length=100)
    label = models.CharField(max_length=100, blank=True)
    device_type = models.ForeignKey(
        DeviceType, on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )
    tags = models.ManyToManyField(DeviceTag, blank=True, related_name="devices")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint("team", "kind", "key", name="device_key_unique"),
        ]

    def __str__(self) -> str:
        return self.label or self.device_id
