"""The downlink lists in a browser: filters and pages live in the URL, so reload and the back
button show the same view, and htmx swaps only the results."""

from __future__ import annotations

import re

import pytest
from django.conf import LazySettings
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WIDTHS, Portal, lora_body, open_filters, status_after_click

pytestmark = pytest.mark.browser

DEVICE_A = "deveui:00000000000000a1"
DEVICE_B = "deveui:00000000000000b2"


def row_ids(page: Page) -> list[str]:
    return [str(row.get_attribute("id")) for row in page.locator("#results tbody tr[id]").all()]


def test_filtering_by_device_and_status_puts_the_filters_in_the_url(portal: Portal) -> None:
    done_a = portal.create_via_api("lora", lora_body(DEVICE_A))
    portal.create_via_api("lora", lora_body(DEVICE_B))
    portal.simulator.clock.advance(60)  # both are DONE now
    pending_a = portal.create_via_api("lora", lora_body(DEVICE_A))
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(3)
    page.evaluate("window.__marker = 1")

    page.get_by_label("Device id").fill(DEVICE_A)
    page.get_by_label("Status").select_option("DONE")
    page.get_by_role("button", name="Show downlinks").click()

    expect(page).to_have_url(re.compile(r"device=deveui%3A00000000000000a1.*status=DONE"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(1)
    assert row_ids(page) == [f"row-{done_a['id']}"]
    assert page.evaluate("window.__marker") == 1, "the filter reloaded the whole page"
    assert f"row-{pending_a['id']}" not in row_ids(page)

    page.reload()
    expect(page.locator("#results tbody tr[id]")).to_have_count(1)
    assert row_ids(page) == [f"row-{done_a['id']}"]
    expect(page.get_by_label("Device id")).to_have_value(DEVICE_A)
    expect(page.get_by_label("Status")).to_have_value("DONE")


def test_a_bad_device_id_is_explained_and_nothing_is_asked_of_the_api(portal: Portal) -> None:
    portal.problems.expect_status(400, "/t/e2e/lora/?")
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/"))
    expect(page.locator("#results")).to_contain_text("No LoRa downlinks match these filters.")
    portal.clear_simulator_requests()

    page.get_by_label("Device id").fill("not-a-device")
    assert status_after_click(page, "Show downlinks", r"/lora/\?") == 400

    # The whole page comes back: the error under the field, which says it is not valid.
    expect(page.locator("#id_device_error")).to_contain_text("“not-a-device” is not a device id.")
    expect(page.get_by_label("Device id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#results [role=alert]")).to_contain_text("nothing was looked up")
    assert [r for r in portal.simulator_requests() if r["path"].startswith("/lora")] == []


@WIDTHS
def test_with_debug_on_a_refused_filter_keeps_the_page_and_fixing_it_clears_the_error(
    portal: Portal, settings: LazySettings, width: int
) -> None:
    """`make run` has DEBUG on: a 400 fragment must still land in its region (django-htmx's
    DEBUG helper would put it in place of the whole document)."""
    settings.DEBUG = True
    portal.problems.expect_status(400, "/t/e2e/lora/?")
    portal.create_via_api("lora", lora_body(DEVICE_A))
    page = portal.signed_in(portal.operator, width)
    page.goto(portal.team_url("lora/"))
    open_filters(page)
    page.get_by_label("Device id").fill("garbage")
    assert status_after_click(page, "Show downlinks", r"/lora/\?") == 400
    expect(page.locator("#id_device_error")).to_contain_text("is not a device id")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("heading", name="LoRa downlinks")).to_be_visible()

    page.get_by_label("Device id").fill(DEVICE_A)
    assert status_after_click(page, "Show downlinks", r"/lora/\?") == 200
    expect(page.locator("#results tbody tr[id]")).to_have_count(1)
    expect(page.locator("#id_device_error")).to_have_count(0)
    expect(page.get_by_label("Device id")).not_to_have_attribute("aria-invalid", "true")


def test_paging_forward_and_back_with_the_cursor_in_the_url(portal: Portal) -> None:
    for number in range(12):
        portal.create_via_api("lora", lora_body(DEVICE_A, payload_hex=f"{number:02x}"))
    portal.simulator.clock.advance(60)  # all DONE: the list does not refresh itself
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(12)

    page.get_by_label("Per page").select_option("10")
    page.get_by_role("button", name="Show downlinks").click()
    expect(page).to_have_url(re.compile(r"limit=10"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(10)
    first_page = row_ids(page)
    first_url = page.url

    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(page.locator("#results tbody tr[id]")).to_have_count(2)
    second_page = row_ids(page)
    second_url = page.url
    assert not set(second_page) & set(first_page)
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)

    page.reload()
    expect(page.locator("#results tbody tr[id]")).to_have_count(2)
    assert row_ids(page) == second_page

    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("#results tbody tr[id]")).to_have_count(10)
    assert row_ids(page) == first_page
    assert "cursor=" in page.url

    page.go_back()
    expect(page).to_have_url(second_url)
    expect(page.locator("#results tbody tr[id]")).to_have_count(2)
    assert row_ids(page) == second_page
    page.go_back()
    expect(page).to_have_url(first_url)
    expect(page.locator("#results tbody tr[id]")).to_have_count(10)
    assert row_ids(page) == first_page


def test_sorting_by_a_column_is_in_the_url_too(portal: Portal) -> None:
    on_a = portal.create_via_api("lora", lora_body(DEVICE_A))
    on_b = portal.create_via_api("lora", lora_body(DEVICE_B))
    portal.simulator.clock.advance(60)
    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("lora/"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(2)

    page.get_by_role("columnheader", name="Device").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=device"))
    expect(page.get_by_role("columnheader", name="Device")).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert row_ids(page) == [f"row-{on_a['id']}", f"row-{on_b['id']}"]

    page.get_by_role("columnheader", name="Device").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=-device"))
    expect(page.get_by_role("columnheader", name="Device")).to_have_attribute(
        "aria-sort", "descending"
    )
    assert row_ids(page) == [f"row-{on_b['id']}", f"row-{on_a['id']}"]
    page.reload()
    assert row_ids(page) == [f"row-{on_b['id']}", f"row-{on_a['id']}"]
