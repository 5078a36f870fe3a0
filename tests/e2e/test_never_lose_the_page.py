"""The page stays the person's: an API outage keeps what the portal holds and recovers by
itself, and a session lost meanwhile (signed out in another tab) leads to the sign-in page and
back, never to a sign-in page nested in a region."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from django.conf import LazySettings
from playwright.sync_api import expect

from tests.e2e.conftest import WIDTHS, Portal, lora_body

pytestmark = pytest.mark.browser

PASSWORD = "a browser-typed passphrase 82"
DETAIL_URL = re.compile(r"/t/e2e/lora/[0-9a-f-]{36}/$")


@pytest.fixture
def quick_refresh(settings: LazySettings) -> None:
    settings.LIVE_REFRESH_SECONDS = 1
    settings.LIVE_REFRESH_MAX_SECONDS = 2
    settings.THINGS_RETRY_ATTEMPTS = 1


@WIDTHS
def test_the_detail_keeps_its_facts_during_a_fault_and_recovers_by_itself(
    portal: Portal, quick_refresh: None, width: int
) -> None:
    portal.problems.expect_status(502, "/t/e2e/lora/")
    page = portal.signed_in(portal.operator, width)
    page.goto(portal.team_url("lora/new"))
    page.get_by_label("Device id").fill("deveui:0123456789abcdef")
    page.get_by_label("Payload", exact=True).fill("01 02 03")
    page.get_by_label("fPort").fill("7")
    page.get_by_role("button", name="Send downlink").click()
    expect(page).to_have_url(DETAIL_URL)
    expect(page.locator("#downlink-status")).to_be_visible()
    audit_before = page.locator(".audit-entries li").count()
    assert audit_before > 0

    httpx.post(
        f"{portal.simulator.url}/_sim/faults",
        json={"kind": "error", "status": 500, "method": "GET", "path": "/lora/downlinks/"},
    ).raise_for_status()

    outage = page.locator("#outage")
    expect(outage).to_contain_text("Live data from the API missing since")
    expect(page.get_by_role("alert")).to_contain_text("The Things API had an internal problem")
    expect(page.locator("dl.facts")).to_contain_text("deveui:0123456789abcdef")
    expect(page.locator(".audit-entries li")).to_have_count(audit_before)
    first_since = outage.locator("time").get_attribute("datetime")
    # It keeps trying, and says the same start each time.
    expect(outage).to_contain_text("trying again in 2 s")
    assert outage.locator("time").get_attribute("datetime") == first_since

    httpx.delete(f"{portal.simulator.url}/_sim/faults").raise_for_status()

    expect(outage).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("dl.facts")).to_contain_text("Payload (hex)")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


@WIDTHS
def test_signing_out_in_another_tab_leads_the_page_to_sign_in_and_back(
    portal: Portal, quick_refresh: None, fast_hashing: None, width: int
) -> None:
    portal.viewer.set_password(PASSWORD)
    portal.viewer.save()
    created = portal.create_via_api("lora", lora_body("deveui:0123456789abcdef"))
    detail = f"/t/e2e/lora/{created['id']}/"
    page = portal.signed_in(portal.viewer, width)
    page.goto(detail)
    expect(page.locator("#downlink-status")).to_be_visible()

    other_tab = page.context.new_page()
    other_tab.goto("/teams/")
    other_tab.locator("summary", has_text=portal.viewer.username).click()
    other_tab.get_by_role("button", name="Sign out").click()
    expect(other_tab).to_have_url(re.compile(r"/accounts/sign-in/"))

    # The detail page's next refresh finds no session: the whole page goes to sign-in.
    expect(page).to_have_url(re.compile(rf"/accounts/sign-in/\?next={re.escape(quote(detail))}$"))
    expect(page.locator("#live")).to_have_count(0)
    page.get_by_label("Username").fill(portal.viewer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{portal.url}{detail}")
    expect(page.locator("#downlink-status")).to_be_visible()
