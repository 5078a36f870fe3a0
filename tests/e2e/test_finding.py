"""Finding a downlink in a browser, on a laptop and on a phone: a device id typed in any of
its spellings finds the downlink stored under one of them, a pasted downlink id opens that
downlink, and a bare EUI is answered with a "Did you mean" link that shows it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Portal, lora_body, open_filters
from things_api import equivalent_device_ids

pytestmark = pytest.mark.browser

STORED = "urn:dev:DEVEUI:0004A30B001C0534:"
BARE_EUI = "0004a30b001c0534"
OTHER_DEVICE = "deveui:0004a30b001c0535"
BARE_PROBLEM = "A device id starts with its kind, such as deveui: or imei:."
WIDTHS = pytest.mark.parametrize("width", [1366, 390], ids=["laptop", "phone"])
HEIGHTS = {1366: 768, 390: 844}


def list_page(portal: Portal, width: int) -> Page:
    page = portal.signed_in(portal.viewer)
    page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
    page.goto(portal.team_url("lora/"))
    return page


def rows(page: Page) -> list[str]:
    return [str(row.get_attribute("id")) for row in page.locator("#results tbody tr[id]").all()]


def wait_for_device_in_url(page: Page, device: str) -> None:
    """Until the list's URL holds `device` as its filter (htmx pushes it after the swap)."""

    def filtered(url: str) -> bool:
        return parse_qs(urlsplit(url).query).get("device") == [device]

    page.wait_for_url(filtered)


def show(page: Page, device: str) -> None:
    open_filters(page)
    page.get_by_label("Device id").fill(device)
    page.get_by_role("button", name="Show downlinks").click()


@WIDTHS
def test_every_spelling_of_a_device_id_finds_the_same_downlink(portal: Portal, width: int) -> None:
    created = portal.create_via_api("lora", lora_body(STORED))
    portal.create_via_api("lora", lora_body(OTHER_DEVICE))
    page = list_page(portal, width)
    expect(page.locator("#results tbody tr[id]")).to_have_count(2)
    typed_forms = [*equivalent_device_ids("deveui:0004a30b001c0534"), "DeVeUi:0004A30b001C0534"]
    assert len(typed_forms) == 15
    for typed in typed_forms:
        show(page, typed)
        wait_for_device_in_url(page, typed)
        expect(page.locator("#results tbody tr[id]")).to_have_count(1)
        assert rows(page) == [f"row-{created['id']}"], typed
        expect(page.locator(f"#row-{created['id']}")).to_contain_text(STORED)


@WIDTHS
def test_a_pasted_downlink_id_opens_its_page(portal: Portal, width: int) -> None:
    created = portal.create_via_api("lora", lora_body(OTHER_DEVICE))
    page = list_page(portal, width)
    show(page, f" {created['id'].upper()} ")
    expect(page).to_have_url(portal.team_url(f"lora/{created['id']}/"))
    expect(page.locator("main")).to_contain_text(OTHER_DEVICE)


@WIDTHS
def test_an_unknown_downlink_id_is_said_in_place(portal: Portal, width: int) -> None:
    portal.create_via_api("lora", lora_body(OTHER_DEVICE))
    unknown = "478a82d4-128f-47a6-aa61-2eac3f2a23ad"
    page = list_page(portal, width)
    show(page, unknown)
    expect(page.locator("#missing-downlink")).to_contain_text(
        f"No downlink with id {unknown} in this team."
    )
    expect(page.locator("#results tbody tr[id]")).to_have_count(0)


@WIDTHS
def test_a_bare_eui_offers_did_you_mean_and_the_link_shows_the_downlink(
    portal: Portal, width: int
) -> None:
    portal.problems.expect_status(400, "/t/e2e/lora/?")
    created = portal.create_via_api("lora", lora_body(STORED))
    portal.create_via_api("lora", lora_body(OTHER_DEVICE))
    page = list_page(portal, width)
    show(page, BARE_EUI)
    hint = page.locator("#device-suggestions")
    expect(hint).to_have_text(f"Did you mean deveui:{BARE_EUI}?")
    expect(page.locator("#id_device_error")).to_have_text(
        f"“{BARE_EUI}” is not a device id. {BARE_PROBLEM}"
    )
    suggestion = hint.get_by_role("link", name=f"deveui:{BARE_EUI}")
    expect(suggestion).to_be_visible()
    suggestion.click()
    wait_for_device_in_url(page, f"deveui:{BARE_EUI}")
    expect(page.locator("#results tbody tr[id]")).to_have_count(1)
    assert rows(page) == [f"row-{created['id']}"]
    expect(page.get_by_label("Device id")).to_have_value(f"deveui:{BARE_EUI}")
    expect(page.locator("#device-suggestions")).to_have_count(0)
    expect(page.locator("#id_device_error")).to_have_count(0)
