"""A viewer in a browser: no send or cancel controls, and a direct POST is refused."""

from __future__ import annotations

from uuid import uuid4

import pytest
from playwright.sync_api import APIResponse, BrowserContext, Page, expect

from tests.e2e.conftest import Portal, lora_body

pytestmark = pytest.mark.browser

DEVICE = "deveui:0123456789abcdef"


def csrf_token(context: BrowserContext) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")


def post_lora_send_form(portal: Portal, page: Page) -> APIResponse:
    """A valid LoRa send form posted straight from the page's browser context (with its session
    and CSRF token), not through the page's controls."""
    return page.context.request.post(
        portal.team_url("lora/new"),
        form={
            "submission_key": uuid4().hex,  # as a rendered form carries
            "device_id": DEVICE,
            "payload_format": "hex",
            "payload": "01",
            "f_port": "1",
            "retry_limit": "0",
            "timeout_days": "0",
            "timeout_hours": "1",
            "timeout_minutes": "0",
        },
        headers={"X-CSRFToken": csrf_token(page.context)},
        max_redirects=0,
    )


def test_a_viewer_sees_no_send_or_cancel_controls_and_cannot_post(portal: Portal) -> None:
    portal.problems.expect_status(403, "/t/e2e/lora/new")
    created = portal.create_via_api("lora", lora_body(DEVICE))  # PENDING: cancellable
    page = portal.signed_in(portal.viewer)

    page.goto(portal.team_url("lora/"))
    row = page.locator(f"#row-{created['id']}")
    expect(row).to_contain_text("Pending")
    expect(page.get_by_role("button", name="Send a LoRa downlink")).to_have_count(0)
    expect(page.get_by_role("link", name="Clone")).to_have_count(0)
    expect(page.get_by_role("link", name="Cancel")).to_have_count(0)

    page.goto(portal.team_url(f"lora/{created['id']}/"))
    expect(page.locator("#downlink-status")).to_have_text("Pending")
    expect(page.get_by_role("button", name="Clone")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel…")).to_have_count(0)

    answer = page.goto(portal.team_url("lora/new"))
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", name="Not allowed for your role")).to_be_visible()
    expect(page.locator("main")).to_contain_text("This needs the role operator")

    portal.clear_simulator_requests()
    send = post_lora_send_form(portal, page)
    assert send.status == 403
    assert "Not allowed for your role" in send.text()
    cancel = page.context.request.post(
        portal.team_url(f"lora/{created['id']}/cancel"),
        form={"forced": "on"},
        headers={"X-CSRFToken": csrf_token(page.context)},
        max_redirects=0,
    )
    assert cancel.status == 403
    assert "Not allowed for your role" in cancel.text()
    assert [r for r in portal.simulator_requests() if r["method"] in {"POST", "DELETE"}] == []


def test_the_same_direct_post_by_an_operator_is_sent(portal: Portal) -> None:
    """The control for the viewer's refusal: the request itself is well formed."""
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/"))
    send = post_lora_send_form(portal, page)
    assert send.status == 302
    posts = [r for r in portal.simulator_requests() if r["method"] == "POST"]
    assert [r["path"] for r in posts if r["path"].startswith("/lora")] == ["/lora/downlinks"]
