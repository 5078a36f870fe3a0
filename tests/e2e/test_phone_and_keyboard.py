"""A list on a phone puts its results first: the filters fold away under a summary, with the
ones in use as chips above; and a keyboard reaches the results with one skip link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP_WIDTH, PHONE_WIDTH, Portal

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [DESKTOP_WIDTH, PHONE_WIDTH], ids=["laptop", "phone"])
def test_the_audit_filters_fold_on_a_phone_and_show_their_chips(portal: Portal, width: int) -> None:
    page = portal.signed_in(portal.admin, width)
    page.goto(portal.team_url(f"audit/?person={portal.admin.username}&action=member_added"))
    fold = page.locator("details.filters-fold")
    expect(fold).to_have_attribute("open", "") if width == DESKTOP_WIDTH else expect(
        fold
    ).not_to_have_attribute("open", "")
    expect(fold.locator("summary")).to_have_text("Filters (2 in use)")
    chips = page.get_by_role("list", name="Filters in use")
    expect(chips.get_by_role("listitem")).to_have_count(2)
    expect(chips).to_contain_text("Action: Added member")

    chips.get_by_role("link", name=re.compile(r"^Action: Added member")).click()
    expect(page).not_to_have_url(re.compile("action="))
    expect(page).to_have_url(re.compile(f"person={portal.admin.username}"))
    expect(page.get_by_role("list", name="Filters in use").get_by_role("listitem")).to_have_count(1)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    if width == PHONE_WIDTH:  # folded, and opened by a tap
        fold.locator("summary").click()
        expect(page.get_by_label("Person")).to_be_visible()


@pytest.mark.parametrize("width", [DESKTOP_WIDTH, PHONE_WIDTH], ids=["laptop", "phone"])
def test_a_skip_link_leads_the_keyboard_to_the_entries(portal: Portal, width: int) -> None:
    page = portal.signed_in(portal.admin, width)
    page.goto(portal.team_url("audit/"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the entries")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_focused()


def test_the_list_filters_fold_on_a_phone_and_a_skip_link_reaches_the_rows(
    portal: Portal,
) -> None:
    page = portal.signed_in(portal.viewer, PHONE_WIDTH)
    page.goto(portal.team_url("lora/?status=PENDING"))
    fold = page.locator("details.filters-fold")
    expect(fold).not_to_have_attribute("open", "")
    chips = page.get_by_role("list", name="Filters in use").get_by_role("listitem")
    expect(chips).to_have_count(1)
    expect(chips).to_contain_text(re.compile("Status: PENDING", re.IGNORECASE))
    results = page.locator("#results")
    box = results.bounding_box()
    assert box is not None
    assert box["y"] < 844  # the results start on the first screen
    page.locator("body").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the downlinks")).to_be_focused()
    page.keyboard.press("Enter")
    expect(results).to_be_focused()
