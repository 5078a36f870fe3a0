"""Command templates: a named downlink with typed parameters, made into a payload by the
device type's codec, a byte layout or a text. Editing makes a new version; the versions are
kept, so a downlink sent with version 1 still says version 1 (and what it meant)."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from command_templates.definition import Definition, read_definition
from devices.models import DeviceType, Kind
from teams.models import Team


def definition_for(text: str, *, kind: str, device_type: DeviceType | None) -> Definition:
    """`read_definition` for a template of `kind` made for `device_type` (whose codec and
    defaults it may use), or for any device."""
    return read_definition(
        text,
        kind=kind,
        has_codec=device_type is not None and device_type.current_codec() is not None,
        default_f_port=device_type.default_f_port if device_type is not None else None,
        default_topic=device_type.default_topic if device_type is not None else "",
    )


class CommandTemplate(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="command_templates")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=4, choices=Kind.choices)
    device_type = models.ForeignKey(
        DeviceType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="command_templates",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("team", Lower("name"), name="command_template_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def current(self) -> TemplateVersion:
        """The newest version (from a prefetch, when the caller made one)."""
        return max(self.versions.all(), key=lambda version: version.number)


class TemplateVersion(models.Model):
    """One version of a template, never changed afterwards."""

    template = models.ForeignKey(CommandTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    description = models.TextField(blank=True)
    # The YAML as the admin wrote it (shown for the next edit) and what it was read as.
    source = models.TextField()
    definition = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint("template", "number", name="template_version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"

    @cached_property
    def parsed(self) -> Definition:
        """The definition as read (once per instance: a version never changes)."""
        return Definition.model_validate(self.definition)
