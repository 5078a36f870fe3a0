"""The `make run` demo's campaign: Acme's trackers sent their report interval from the
template, with a note per device from a CSV; two of the notes carry the simulator's failure
markers, so the campaign finishes with failed rows, ready to re-run. Sent for real (through
the campaign's own senders, to the simulator); only for a team without campaigns yet."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from audit.trail import Origin
from campaigns import running, services
from campaigns.forms import TargetsForm, message_form
from campaigns.models import Campaign
from campaigns.rows import Message
from command_templates.models import CommandTemplate
from teams.models import Team

TEMPLATE = "Tracker report interval"
# The three trackers of the catalogue and nine more; a note per device (two fail on purpose:
# see simulator/README.md for the markers).
ROWS = [
    ("imei:350266800610993", "north depot"),
    ("imei:350266800610994", "north depot sim:FEEDBACK_TIMEOUT"),
    ("urn:dev:imei:350266800610995", "south depot"),
    *((f"imei:3502668006110{number:02d}", "spare pool") for number in range(9)),
]
ROWS[7] = (ROWS[7][0], "spare sim:FAILED_TO_TRANSMIT_TO_DEVICE")


class Command(BaseCommand):
    help = "Send the demo campaign (make run; needs the simulator running)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo data is only for a portal running with DEBUG=true.")
        team = Team.objects.filter(slug="acme").first()
        template = CommandTemplate.objects.filter(team=team, name=TEMPLATE).first()
        if team is None or template is None or Campaign.objects.filter(team=team).exists():
            return
        origin = Origin.system("demo data")
        data = QueryDict(mutable=True)
        data.update(
            {
                "targets-name": "Trackers: report every 15 minutes (ticket 4711)",
                "timeout_days": "0",
                "timeout_hours": "0",
                "timeout_minutes": "30",
                "param_every": "15 min",
            }
        )
        text = "device_id,note\n" + "".join(f"{device},{note}\n" for device, note in ROWS)
        files = {"targets-csv_file": SimpleUploadedFile("trackers.csv", text.encode())}
        version = template.current()
        targets = TargetsForm(
            data, files, team=team, kind=template.kind, version=version, prefix="targets"
        )
        if not targets.is_valid() or targets.targets is None:
            raise CommandError(f"The demo campaign's devices were refused: {targets.errors}")
        form = message_form(
            data, team=team, kind=template.kind, version=version, per_row=targets.targets.columns
        )
        if not form.is_valid():
            raise CommandError(f"The demo campaign's message was refused: {form.errors}")
        campaign = services.campaign_draft(
            message=Message(
                team=team, kind=template.kind, form=form, data=data, version=version, per_row=True
            ),
            targets=targets.targets,
            name=targets.cleaned_data["name"],
            origin=origin,
            user=None,
        )
        # Started and sent here, not by the worker: the demo is ready when the command ends.
        Campaign.objects.filter(pk=campaign.pk).update(created_by_label="oscar")
        services.campaign_start(campaign=campaign, origin=origin, send_anyway=True)
        running.send_rows(campaign.pk, rows=len(ROWS))
        self.stdout.write(f"Sent the demo campaign “{campaign.name}” ({len(ROWS)} devices).")
