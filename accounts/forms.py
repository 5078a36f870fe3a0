"""The person's own settings."""

from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.conf import settings


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC")
    return [("", f"The portal's: {settings.TIME_ZONE}"), *((zone, zone) for zone in zones)]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        required=False,
        label="Time zone",
        help_text="Every time in the portal is shown in it, with the zone written next to it "
        "(UTC when you hover over a time), and dates you type into filters are read in it.",
    )
