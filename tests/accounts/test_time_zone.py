"""One clock: each person's time zone (theirs, or the portal's), every time shown in it with
its zone and UTC on hover, and dates typed into filters read in it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.test import Client

from accounts.forms import time_zone_choices
from audit.models import Action, AuditEntry
from teams.models import Role
from tests.teams.capture import body_of
from tests.teams.world import join, make_team

SETTINGS = "/accounts/settings/"
TIME = re.compile(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>')


@pytest.fixture
def lena_client(lena: User) -> Client:
    client = Client()
    client.force_login(lena)
    return client


def test_the_settings_page_offers_every_zone_and_the_portals(
    lena_client: Client, settings: LazySettings
) -> None:
    page = body_of(lena_client.get(SETTINGS))
    assert f"The portal's: {settings.TIME_ZONE}" in html.unescape(page)
    assert '<option value="Asia/Tokyo">' in page
    assert len(time_zone_choices()) > 300


def test_choosing_a_zone_shows_every_time_in_it_and_is_audited(
    lena: User, lena_client: Client
) -> None:
    team = make_team("harbour", "Harbour")
    join(lena, team, Role.ADMIN)
    response = lena_client.post(SETTINGS, {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert "Times are now shown in Asia/Tokyo." in body_of(lena_client.get(SETTINGS))
    entry = AuditEntry.objects.get(action=Action.TIME_ZONE_CHANGED)
    assert entry.asked == {"from": "", "to": "Asia/Tokyo"}

    times = TIME.findall(body_of(lena_client.get(f"/t/{team.slug}/audit/")))
    assert times, "the audit page shows no time"
    for iso, hover, shown in times:
        moment = datetime.fromisoformat(iso)
        assert moment.utcoffset() is not None
        assert hover == f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        assert shown.endswith(" JST")

    # A new sign-in keeps it.
    fresh = Client()
    fresh.force_login(lena)
    assert TIME.findall(body_of(fresh.get(f"/t/{team.slug}/audit/")))[0][2].endswith(" JST")


def test_back_to_the_portals_zone(lena_client: Client) -> None:
    lena_client.post(SETTINGS, {"time_zone": "Asia/Tokyo"})
    lena_client.post(SETTINGS, {"time_zone": ""})
    page = body_of(lena_client.get(SETTINGS))
    assert "(Europe/Amsterdam)" in page or "(UTC)" in page


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "x" * 500])
def test_an_unknown_zone_is_refused_on_the_field(lena_client: Client, zone: str) -> None:
    response = lena_client.post(SETTINGS, {"time_zone": zone})
    assert response.status_code == 400
    assert "Select a valid choice." in body_of(response)
    assert not AuditEntry.objects.filter(action=Action.TIME_ZONE_CHANGED).exists()


def test_a_filter_date_is_read_in_the_persons_zone(lena: User, lena_client: Client) -> None:
    """Tokyo is UTC+9: an entry at 00:30 UTC is at 09:30 there, so "from 09:00" finds it and
    "from 10:00" does not."""
    team = make_team("harbour", "Harbour")
    join(lena, team, Role.ADMIN)
    lena_client.post(SETTINGS, {"time_zone": "Asia/Tokyo"})
    page = body_of(lena_client.get(f"/t/{team.slug}/audit/"))
    assert "In your time zone, Asia/Tokyo." in page
    entry = AuditEntry.objects.filter(action=Action.MEMBER_ADDED).get()
    tokyo = entry.created_at.astimezone(UTC).timestamp() + 9 * 3600
    typed = datetime.fromtimestamp(tokyo, UTC).replace(tzinfo=None)
    hour = typed.replace(minute=0, second=0, microsecond=0)
    found = body_of(
        lena_client.get(f"/t/{team.slug}/audit/", {"since": hour.isoformat(timespec="minutes")})
    )
    assert "Added lena as admin" in found
    later = hour.replace(hour=(hour.hour + 1) % 24)
    if later > hour:  # (not across midnight, which would be the day before)
        missed = body_of(
            lena_client.get(
                f"/t/{team.slug}/audit/", {"since": later.isoformat(timespec="minutes")}
            )
        )
        assert "Added lena as admin" not in missed
