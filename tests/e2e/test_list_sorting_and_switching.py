"""The lists in a browser, at a laptop's and a phone's width: only the columns of a downlink's
own (top-level) fields are sort links, and a click sorts the rows as the header then says; the
MQTT status filter takes a status outside the known ones; and switching team from a list lands
on the other team's list of the same kind."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from benchmarks.simulated_team import team_on_simulator
from downlinks.forms import COLUMN_LABELS, SORT_COLUMNS, list_columns
from teams.models import Role
from tests.e2e.conftest import WIDTHS, Portal, lora_body, open_filters
from tests.teams.world import join
from things_api import STATUS_ORDER

pytestmark = pytest.mark.browser

# Made in this order, so that by device they sort otherwise than by when they were made.
DEVICES = ["deveui:00000000000000c3", "deveui:00000000000000a1", "deveui:00000000000000b2"]


def column_texts(page: Page, label: str) -> list[str]:
    """The text of one column in every row, read from the page (the column found by its
    header's position)."""
    headers = [text.strip() for text in page.locator("#results thead th").all_inner_texts()]
    position = next(i for i, text in enumerate(headers) if text.rstrip(" ▲▼") == label)
    cells = page.locator(f"#results tbody tr[id] > :nth-child({position + 1})")
    return [text.strip() for text in cells.all_inner_texts()]


@WIDTHS
@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_only_sortable_columns_are_links(portal: Portal, width: int, kind: str) -> None:
    page = portal.signed_in(portal.viewer, width)
    page.goto(portal.team_url(f"{kind}/"))
    head = page.locator("#results thead")
    for column in list_columns(kind):
        header = head.get_by_role("columnheader", name=re.compile(rf"^{re.escape(column.label)}"))
        expect(header).to_have_count(1)
        expect(header.get_by_role("link")).to_have_count(1 if column.sortable else 0)
        if not column.sortable:
            expect(header).to_have_text(column.label)
            expect(header).not_to_have_attribute("aria-sort", re.compile("."))
    sortable = [column.label for column in list_columns(kind) if column.sortable]
    assert sortable == [COLUMN_LABELS[name] for name in SORT_COLUMNS[kind]]
    expect(head.get_by_role("link")).to_have_count(len(sortable))


@WIDTHS
def test_clicking_a_header_sorts_the_rows_as_it_then_says(portal: Portal, width: int) -> None:
    for device in DEVICES:
        portal.create_via_api("lora", lora_body(device))
        portal.simulator.clock.advance(0.01)
    page = portal.signed_in(portal.viewer, width)
    page.goto(portal.team_url("lora/"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(len(DEVICES))
    assert column_texts(page, "Device") == DEVICES[::-1]  # newest first

    device_header = page.get_by_role("columnheader", name=re.compile(r"^Device"))
    device_header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=device"))
    expect(device_header).to_have_attribute("aria-sort", "ascending")
    expect(device_header).to_contain_text("▲")
    assert column_texts(page, "Device") == sorted(DEVICES)

    device_header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=-device"))
    expect(device_header).to_have_attribute("aria-sort", "descending")
    assert column_texts(page, "Device") == sorted(DEVICES, reverse=True)


@WIDTHS
def test_the_mqtt_status_filter_takes_a_status_outside_the_known_ones(
    portal: Portal, width: int
) -> None:
    queued = portal.create_via_api(
        "mqtt",
        {
            "deviceId": "imei:350266800610993",
            "message": {"type": "text", "payload": "sim:STATUS=QUEUED", "topic": "t"},
            "feedbackTimeout": "PT1H",
        },
    )
    portal.create_via_api(
        "mqtt",
        {
            "deviceId": "imei:350266800610994",
            "message": {"type": "text", "payload": "plain", "topic": "t"},
            "feedbackTimeout": "PT1H",
        },
    )
    portal.simulator.clock.advance(6)  # past PENDING: the first waits as QUEUED
    assert "QUEUED" not in STATUS_ORDER
    page = portal.signed_in(portal.viewer, width)
    page.goto(portal.team_url("mqtt/"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(2)
    status = page.get_by_label("Status")
    suggestions = page.locator(f"datalist#{status.get_attribute('list')} option")
    expect(suggestions).to_have_count(len(STATUS_ORDER))
    assert [option.get_attribute("value") for option in suggestions.all()] == list(STATUS_ORDER)

    open_filters(page)
    status.fill("QUEUED")
    with page.expect_response(re.compile(r"/mqtt/\?")) as answer:
        page.get_by_role("button", name="Show downlinks").click()
    assert answer.value.status == 200

    expect(page).to_have_url(re.compile(r"status=QUEUED"))
    expect(page.locator("#results tbody tr[id]")).to_have_count(1)
    expect(page.locator(f"#row-{queued['id']}")).to_contain_text("QUEUED")
    expect(page.locator("#results [role=alert]")).to_have_count(0)


@WIDTHS
@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_switching_team_from_a_list_lands_on_its_list_of_the_same_kind(
    portal: Portal, width: int, kind: str
) -> None:
    other = team_on_simulator(portal.simulator, "globex", "Globex Logistics", tenant_id="globex")
    join(portal.operator, other, Role.VIEWER)
    page = portal.signed_in(portal.operator, width)
    page.goto(portal.team_url(f"{kind}/?status=PENDING"))
    expect(page.get_by_label("Status")).to_have_value("PENDING")

    page.get_by_label(re.compile(r"Switch team")).click()
    page.get_by_role("link", name=re.compile(r"^Globex Logistics")).click()

    expect(page).to_have_url(f"{portal.url}/t/globex/{kind}/")  # no filters carried over
    heading = "LoRa downlinks" if kind == "lora" else "MQTT downlinks"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_label(re.compile(r"Switch team"))).to_contain_text("Globex Logistics")
    expect(page.get_by_label("Status")).to_have_value("")
