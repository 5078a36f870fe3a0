"""A form sent back with errors says so first: a summary at its top takes the focus, and each
of its links leads to the field to fix."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WIDTHS, Portal

pytestmark = pytest.mark.browser


@WIDTHS
def test_a_refused_send_form_starts_with_a_focused_summary(portal: Portal, width: int) -> None:
    portal.problems.expect_status(400, "/lora/new")
    page = portal.signed_in(portal.operator, width)
    page.goto(portal.team_url("lora/new"))
    page.get_by_label("Device id").fill("nope")
    page.get_by_label("Payload", exact=True).fill("01")
    page.get_by_label("fPort").fill("0")
    page.get_by_role("button", name="Send downlink").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("2 things need fixing; nothing was sent")
    box = summary.bounding_box()
    form = page.locator("form.send-form").bounding_box()
    assert box is not None
    assert form is not None
    assert box["y"] <= form["y"] + 80  # at the top of the form, not under it
    expect(page.locator(".preview-errors")).to_have_count(0)  # said once

    summary.get_by_role("link", name="fPort").click()
    expect(page.get_by_label("fPort")).to_be_focused()
    summary.get_by_role("link", name="Device id").click()
    expect(page.get_by_label("Device id")).to_be_focused()


@WIDTHS
def test_a_form_drawn_by_the_renderer_has_the_summary_too(portal: Portal, width: int) -> None:
    portal.problems.expect_status(400, "/members/add")
    page = portal.signed_in(portal.admin, width)
    page.goto(portal.team_url("members/"))
    page.get_by_label("Username").fill("nobody-of-that-name")
    page.get_by_role("button", name="Add member").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("One thing needs fixing")
    summary.get_by_role("link", name="Username").click()
    expect(page.get_by_label("Username")).to_be_focused()
