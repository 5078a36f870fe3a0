"""One clock, in a browser: a person picks a time zone in their settings, and every time on
the list and detail pages is in it, with its zone written out and UTC on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.conftest import WIDTHS, Portal, lora_body, open_filters

pytestmark = pytest.mark.browser

ZONE = "Asia/Tokyo"


def check_times(times: Locator) -> int:
    """Every `<time>` shows its moment in ZONE with the zone's name, UTC in its title."""
    count = times.count()
    for index in range(count):
        time = times.nth(index)
        moment = datetime.fromisoformat(str(time.get_attribute("datetime")))
        local = moment.astimezone(ZoneInfo(ZONE))
        assert time.get_attribute("title") == f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        shown = time.inner_text()
        assert shown.endswith(f" {local.tzname()}"), shown
        assert f"{local:%H:%M:%S}" in shown, shown
    return count


@WIDTHS
def test_times_are_in_the_persons_zone_with_the_zone_shown(portal: Portal, width: int) -> None:
    created = portal.create_via_api("lora", lora_body("deveui:0123456789abcdef"))
    page = portal.signed_in(portal.operator, width)
    page.goto("/accounts/settings/")
    page.get_by_label("Time zone").select_option(ZONE)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text(f"Times are now shown in {ZONE}.")
    expect(page.locator("article")).to_contain_text(f"({ZONE})")

    page.goto(portal.team_url("lora/"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert check_times(page.locator("#results time")) == 2
    open_filters(page)
    expect(page.get_by_text(f"In your time zone, {ZONE}.").first).to_be_visible()

    page.goto(portal.team_url(f"lora/{created['id']}/"))
    assert check_times(page.locator("dl.facts time")) == 2
    assert re.search(r"\bJST\b", page.locator("dl.facts").inner_text())
