"""The send forms by keyboard alone, and an accessible label on every input."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Portal

pytestmark = pytest.mark.browser

CONTROLS = "form.send-form :is(input:not([type=hidden]), select, textarea)"
LABELS = {
    "lora": [
        "Device id",
        "Payload entered as",
        "Payload",
        "fPort",
        "Retry limit",
        "Days",
        "Hours",
        "Minutes",
        "Dry run (the platform pretends delivery succeeded; nothing reaches the device)",
    ],
    "mqtt": [
        "Device id",
        "Text",
        "Binary",
        "Binary payload entered as",
        "Payload",
        "Topic",
        "Content type",
        "Quality of service",
        "Days",
        "Hours",
        "Minutes",
        "Dry run (the platform pretends delivery succeeded; nothing reaches the device)",
    ],
}


def control_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator(CONTROLS).evaluate_all("els => els.map(el => el.id)")
    return ids


def active_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement.id"))


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_every_input_of_the_send_form_has_a_label(portal: Portal, kind: str) -> None:
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url(f"{kind}/new"))
    ids = control_ids(page)
    assert len(ids) == len(LABELS[kind])
    assert all(ids), "a control without an id cannot be pointed at by a label"
    for label, control_id in zip(LABELS[kind], ids, strict=True):
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_count(1)
        expect(field).to_have_id(control_id)


def test_the_lora_send_form_can_be_filled_and_sent_by_keyboard(portal: Portal) -> None:
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/new"))
    page.locator("body").focus()
    typed = {"id_device_id": "deveui:0123456789abcdef", "id_payload": "CAFE"}
    reached: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        current = active_id(page)
        if current in typed and current not in reached:
            page.keyboard.type(typed[current])
        reached.append(current)
        if page.evaluate("document.activeElement.textContent.trim()") == "Send downlink":
            break
    else:
        pytest.fail(f"Tab never reached the send button; reached {reached}")
    form_controls = [control for control in reached if control in control_ids(page)]
    assert form_controls == control_ids(page), "every field is reached by Tab, in order"
    expect(page.locator("#preview")).to_contain_text("2 bytes")

    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/t/e2e/lora/[0-9a-f-]{36}/$"))
    expect(page.locator("#downlink-status")).to_have_text("Pending")
    expect(page.locator(".facts")).to_contain_text("CAFE")
