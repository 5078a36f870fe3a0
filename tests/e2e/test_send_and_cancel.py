"""Sending and cancelling in a browser: the send forms, the detail page that follows a
downlink until it is DONE without a reload, and cancels accepted (202) and refused (409)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from django.conf import LazySettings
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Portal, lora_body, status_after_click

pytestmark = pytest.mark.browser

DEVICE = "deveui:0123456789abcdef"
DETAIL_URL = re.compile(r"/t/e2e/(lora|mqtt)/[0-9a-f-]{36}/$")


@pytest.fixture
def quick_refresh(settings: LazySettings) -> None:
    settings.LIVE_REFRESH_SECONDS = 1


def fill_lora(page: Page) -> None:
    page.get_by_label("Device id").fill(DEVICE)
    page.get_by_label("Payload", exact=True).fill("01 02 03")
    page.get_by_label("fPort").fill("7")


def fill_mqtt(page: Page) -> None:
    page.get_by_label("Device id").fill("imei:350266800610993")
    page.get_by_label("Text", exact=True).check()
    page.get_by_label("Payload", exact=True).fill("open the valve")
    page.get_by_label("Topic").fill("valves/1")


@pytest.mark.parametrize(
    ("kind", "fill", "preview"),
    [("lora", fill_lora, "3 bytes"), ("mqtt", fill_mqtt, "14 bytes")],
)
def test_a_sent_downlink_is_followed_until_done_without_reloading(
    portal: Portal,
    quick_refresh: None,
    kind: str,
    fill: Callable[[Page], None],
    preview: str,
) -> None:
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url(f"{kind}/"))
    page.get_by_role("button", name=re.compile(r"^Send an? ")).click()
    fill(page)
    expect(page.locator("#preview")).to_contain_text(preview)
    expect(page.locator("#preview")).to_contain_text("PT1H")

    page.get_by_role("button", name="Send downlink").click()

    expect(page).to_have_url(DETAIL_URL)
    expect(page.locator(".messages")).to_contain_text("The downlink was sent.")
    expect(page.locator("#downlink-status")).to_have_text("Pending")
    sent = [r for r in portal.simulator_requests() if r["method"] == "POST"]
    assert [r["path"] for r in sent if r["path"].startswith(f"/{kind}")] == [f"/{kind}/downlinks"]
    page.evaluate("window.__marker = 1")

    portal.simulator.clock.advance(60)

    expect(page.locator("#downlink-status")).to_have_text("Succeeded", timeout=10_000)
    expect(page.locator(".facts")).to_contain_text("DONE")
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    expect(page.locator(".live-note")).to_have_count(0)


def test_cancelling_a_pending_downlink_is_accepted(portal: Portal, quick_refresh: None) -> None:
    created = portal.create_via_api("lora", lora_body(DEVICE))
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url(f"lora/{created['id']}/"))
    page.get_by_role("button", name="Cancel…").click()
    expect(page.get_by_role("heading", name="Cancel this LoRa downlink?")).to_be_visible()
    portal.clear_simulator_requests()

    page.get_by_role("button", name="Cancel the downlink").click()

    expect(page).to_have_url(DETAIL_URL)
    expect(page.locator(".messages")).to_contain_text("Cancellation requested.")
    deletes = [r for r in portal.simulator_requests() if r["method"] == "DELETE"]
    assert [(r["path"], r["status"]) for r in deletes] == [
        (f"/lora/downlinks/{created['id']}", 202)
    ]
    expect(page.locator(".cancel-pending")).to_contain_text("waiting for the platform")
    page.evaluate("window.__marker = 1")

    portal.simulator.clock.advance(3)  # the simulator ends a cancelled downlink after 2 s

    expect(page.locator("#downlink-status")).to_have_text("Cancelled", timeout=10_000)
    assert page.evaluate("window.__marker") == 1


def test_cancelling_a_downlink_that_finished_meanwhile_is_refused_in_words(
    portal: Portal,
) -> None:
    portal.problems.expect_status(409, "/cancel")
    created = portal.create_via_api("lora", lora_body(DEVICE))
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url(f"lora/{created['id']}/cancel"))
    expect(page.get_by_role("heading", name="Cancel this LoRa downlink?")).to_be_visible()

    portal.simulator.clock.advance(60)  # it is DONE before the person confirms
    assert status_after_click(page, "Cancel the downlink", r"/cancel$") == 409
    refusal = page.locator("#cancel-refusal")
    expect(refusal).to_contain_text("Not cancelled.")
    expect(refusal).to_contain_text("cannot be cancelled")
    expect(refusal).to_contain_text("already finished")
    expect(page.get_by_role("button", name="Cancel the downlink")).to_have_count(0)
    deletes = [r for r in portal.simulator_requests() if r["method"] == "DELETE"]
    assert [r["status"] for r in deletes] == [409]


def test_the_preview_keeps_up_with_quick_typing_without_errors(portal: Portal) -> None:
    """Each change asks for a preview; one still running when the next starts must not be
    aborted (htmx logs an abort as a console error), and the last answer must win."""
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/new"))
    for number in range(1, 7):
        page.get_by_label("Payload", exact=True).fill("AB" * number)
        page.get_by_label("Minutes").fill(str(number))
    page.get_by_label("Hours").fill("2")

    expect(page.locator("#preview")).to_contain_text("6 bytes")
    expect(page.locator("#preview")).to_contain_text("PT2H6M")


# --- Exactly once ------------------------------------------------------------------------------


def test_a_double_click_on_send_sends_once(portal: Portal) -> None:
    # The create takes a while, as on a slow day: the second click comes while it is on its way.
    httpx.post(
        f"{portal.simulator.url}/_sim/faults",
        json={"kind": "latency", "delayMs": 1500, "method": "POST", "path": "/lora/downlinks"},
    ).raise_for_status()
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/new"))
    fill_lora(page)
    # The preview grows as fields are filled and moves the button down; a press made while it
    # moves lands beside it (the test would measure the layout, not the double click).
    expect(page.locator("#preview")).to_contain_text("3 bytes")
    send = page.get_by_role("button", name="Send downlink")
    # What the page did with each press, kept across the navigation that follows.
    page.evaluate(
        """() => document.addEventListener("submit", (event) => {
            const seen = JSON.parse(sessionStorage.getItem("submits") || "[]");
            seen.push(event.defaultPrevented);
            sessionStorage.setItem("submits", JSON.stringify(seen));
            setTimeout(() => sessionStorage.setItem("disabled",
                String(event.target.querySelector("button[type=submit]").disabled)), 0);
        })"""
    )

    send.dblclick()

    expect(page).to_have_url(DETAIL_URL, timeout=15_000)
    # The second press was held back, and the button was disabled while the first was out.
    assert page.evaluate("() => sessionStorage.getItem('submits')") == "[false,true]"
    assert page.evaluate("() => sessionStorage.getItem('disabled')") == "true"
    creates = [
        r
        for r in portal.simulator_requests()
        if (r["method"], r["path"]) == ("POST", "/lora/downlinks")
    ]
    assert len(creates) == 1


def test_an_unknown_outcome_lands_on_the_attempt_and_a_resend_asks_first(
    portal: Portal, settings: LazySettings
) -> None:
    portal.problems.expect_status(409, "/lora/new")
    settings.THINGS_READ_TIMEOUT = 1.0
    httpx.post(
        f"{portal.simulator.url}/_sim/faults",
        json={
            "kind": "timeout",
            "delayMs": 3000,
            "method": "POST",
            "path": "/lora/downlinks",
            "times": 1,
        },
    ).raise_for_status()
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/new"))
    fill_lora(page)
    page.get_by_role("button", name="Send downlink").click()

    expect(page).to_have_url(re.compile(r"/t/e2e/lora/sent/\d+/$"))
    expect(page.locator("#attempt-state")).to_have_text("Outcome unknown")
    expect(page.locator("#attempt-next")).to_contain_text("does not send it again by itself")
    expect(page.locator("form.send-form")).to_have_count(0)

    # Back to the form, the same message again: what is on its way is shown first.
    page.goto(portal.team_url("lora/new"))
    fill_lora(page)
    page.get_by_role("button", name="Send downlink").click()
    guard = page.locator("#on-its-way")
    expect(guard).to_contain_text(f"Already on its way to {DEVICE}")
    expect(guard.get_by_role("link", name="outcome unknown")).to_be_visible()
    creates = [
        r
        for r in portal.simulator_requests()
        if r["method"] == "POST" and "/oidc/" not in r["path"]
    ]
    assert len(creates) <= 1  # the held create only; nothing new
