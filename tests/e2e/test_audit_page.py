"""The audit trail in a browser, wide and narrow: filters submitted again and again replace
each other in the URL, a reversed range looks nothing up and keeps the page, and each send
is one row whose downlink link opens its detail page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from audit.trail import Origin
from downlinks import services
from tests.e2e.conftest import Portal, open_filters, status_after_click
from things_api import NewLoraDownlink

pytestmark = pytest.mark.browser

DEVICE_A = "deveui:00000000000000a1"
DEVICE_B = "deveui:00000000000000b2"
ROWS = "#results tbody tr"


def send_as_operator(portal: Portal, device_id: str) -> str:
    """A LoRa downlink sent through the portal's own service (so the trail holds its attempt
    and its outcome, as a send from the form does); returns the downlink's id."""
    operator = portal.operator
    result = services.downlink_send(
        team=portal.team,
        kind="lora",
        new=NewLoraDownlink.model_validate(
            {
                "device_id": device_id,
                "message": {"payload_hex": "0102", "f_port": 1},
                "feedback_timeout": "PT1H",
            }
        ),
        origin=Origin(operator.pk, operator.get_username()),
        user=operator,
        submission_key=services.new_submission_key(),
    )
    assert result.downlink is not None, result.message
    return str(result.downlink.id)


def filters_in_url(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def filter_by(page: Page, label: str, value: str) -> None:
    open_filters(page)
    page.get_by_label(label, exact=True).fill(value)
    with page.expect_response(re.compile(r"/t/e2e/audit/\?")) as answer:
        page.get_by_role("button", name="Filter", exact=True).click()
    assert answer.value.status == 200


@pytest.mark.parametrize("width", [1366, 390])
def test_filters_replace_each_other_and_each_send_is_one_linked_row(
    portal: Portal, width: int
) -> None:
    to_a = send_as_operator(portal, DEVICE_A)
    to_b = send_as_operator(portal, DEVICE_B)
    operator = portal.operator.get_username()
    page = portal.signed_in(portal.admin)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(portal.team_url("audit/"))
    expect(page.locator(ROWS).first).to_be_visible()
    page.evaluate("window.__marker = 1")

    # Twice through the form (htmx): the URL holds each filter once, with the latest values.
    filter_by(page, "Person", operator)
    expect(page).to_have_url(re.compile(rf"person={operator}"))
    expect(page.locator(ROWS)).to_have_count(2)  # two sends, one row each
    filter_by(page, "Device id", DEVICE_A)
    expect(page).to_have_url(re.compile(r"device_id=deveui%3A00000000000000a1"))
    query = filters_in_url(page)
    assert all(len(values) == 1 for values in query.values()), page.url
    assert (query["person"], query["device_id"]) == ([operator], [DEVICE_A])
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS)).to_contain_text("Sent downlink — accepted by the API")
    expect(page.locator(ROWS).get_by_role("link", name=to_a, exact=True)).to_have_count(1)
    expect(page.get_by_role("link", name=to_b, exact=True)).to_have_count(0)
    # Again, with the same and a new value: still once each.
    filter_by(page, "Person", operator)
    query = filters_in_url(page)
    assert all(len(values) == 1 for values in query.values()), page.url
    assert page.evaluate("window.__marker") == 1, "a filter reloaded the whole page"

    # A reversed range: the error at its field, nothing looked up, the page kept.
    portal.problems.expect_status(400, "/t/e2e/audit/?")
    open_filters(page)
    page.get_by_label("From", exact=True).fill("2026-01-11T01:00")
    page.get_by_label("Until", exact=True).fill("2026-01-11T00:00")
    assert status_after_click(page, "Filter", r"/t/e2e/audit/\?") == 400
    expect(page.locator("#id_before_error")).to_contain_text("must be after")
    expect(page.locator("#results [role=alert]")).to_contain_text("nothing was looked up")
    expect(page.locator(ROWS)).to_have_count(0)
    expect(page.get_by_role("heading", name="Audit trail of E2E Metering")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_attached()
    assert page.evaluate("window.__marker") == 1, "the 400 wiped the page"

    # Without the range, and without the device: one row per send, each linking its downlink.
    open_filters(page)  # (a form with an error stays open, also on a phone)
    page.get_by_label("From", exact=True).fill("")
    page.get_by_label("Until", exact=True).fill("")
    filter_by(page, "Device id", "")
    expect(page.locator(ROWS)).to_have_count(2)
    expect(page.locator("#id_before_error")).to_have_count(0)
    for downlink_id in (to_a, to_b):
        expect(page.locator(ROWS).get_by_role("link", name=downlink_id, exact=True)).to_have_count(
            1
        )

    page.locator(ROWS).get_by_role("link", name=to_b, exact=True).click()

    expect(page).to_have_url(re.compile(rf"/t/e2e/lora/{to_b}/$"))
    expect(page.get_by_role("heading", name=f"LoRa downlink to {DEVICE_B}")).to_be_visible()
