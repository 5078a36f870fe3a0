"""A slow Things API: after a moment the page says how long it has been waiting, and the
person can stop waiting, which keeps the page as it was."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WIDTHS, Portal, lora_body, open_filters
from tests.polling import wait_until

pytestmark = pytest.mark.browser


@WIDTHS
def test_waiting_is_shown_and_can_be_stopped(portal: Portal, width: int) -> None:
    portal.create_via_api("lora", lora_body("deveui:0123456789abcdef"))
    page = portal.signed_in(portal.viewer, width)
    page.goto(portal.team_url("lora/"))
    rows = page.locator("#results tbody tr[id]")
    expect(rows).to_have_count(1)
    httpx.post(
        f"{portal.simulator.url}/_sim/faults",
        json={"kind": "latency", "delayMs": 4000, "method": "GET", "path": "/lora/downlinks"},
    ).raise_for_status()

    open_filters(page)
    searches_before = searches_answered(portal)
    page.get_by_role("button", name="Show downlinks").click()

    waiting = page.locator("#slow-request")
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("Waiting for the Things API")
    expect(waiting.locator("[data-seconds]")).not_to_have_text("0")
    # htmx logs the abort it is asked for as an error.
    portal.problems.expect_log("htmx:sendAbort")
    portal.problems.expect_log("htmx:afterRequest")
    waiting.get_by_role("button", name="Stop waiting").click()
    expect(waiting).to_be_hidden()
    expect(rows).to_have_count(1)  # the page as it was
    expect(page.get_by_role("alert")).to_have_count(0)
    # The server still answers the abandoned request (within its deadline): let it finish
    # before the test's servers stop.
    # (Every search is held as long, so the first to be answered is the one started first.)
    wait_until(lambda: searches_answered(portal) > searches_before, timeout=30)


def searches_answered(portal: Portal) -> int:
    return sum(
        1
        for entry in portal.simulator_requests()
        if (entry["method"], entry["path"]) == ("GET", "/lora/downlinks")
    )
