"""Signing in through the real sign-in page, in a browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Portal

pytestmark = pytest.mark.browser

PASSWORD = "a browser-typed passphrase 81"


def test_signing_in_leads_back_to_the_page_asked_for(portal: Portal, fast_hashing: None) -> None:
    portal.operator.set_password(PASSWORD)
    portal.operator.save()
    page = portal.new_context().new_page()

    page.goto(portal.team_url("mqtt/"))
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/\?next=/t/e2e/mqtt/$"))
    page.get_by_label("Username").fill(portal.operator.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(portal.team_url("mqtt/"))
    expect(page.get_by_role("heading", name="MQTT downlinks")).to_be_visible()
    expect(page.locator("summary", has_text=portal.operator.username)).to_be_visible()
    expect(page.get_by_role("button", name="Send an MQTT downlink")).to_be_visible()
