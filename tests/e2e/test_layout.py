"""The main pages at a laptop's and a phone's width: nothing wider than the screen (a wide
table scrolls in its own box), and axe-core finds no serious or critical violation.

With SCREENSHOTS_DIR set, each page is also saved there as `<page>-<width>.png` (how the
README's screenshots are made: `make screenshots`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.campaigns.conftest import draft_campaign, lora_ids
from tests.e2e.accessibility import serious_violations
from tests.e2e.conftest import DESKTOP_WIDTH, PHONE_WIDTH, Portal, lora_body

WIDE_WIDTH = 1920
# The pages the README shows (docs/screenshots/<page>-<width>.png).
README_PAGES = frozenset(
    {
        "lora-list",
        "lora-detail",
        "lora-send",
        "mqtt-send",
        "audit",
        "members",
        "credential",
        "campaign-preview",
    }
)

# Slow (some 35 s for its three widths): CI runs it, and `make screenshots`.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

MQTT_BODY = {
    "deviceId": "imei:350266800610993",
    "message": {"type": "text", "payload": "open the valve", "topic": "valves/1"},
    "feedbackTimeout": "PT1H",
}


def overflow(page: Page) -> int:
    """How many pixels the document is wider than the window."""
    width: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def look(page: Page, name: str, width: int) -> list[str]:
    """What is wrong with the page as it is now; saves a screenshot when asked to."""
    problems = serious_violations(page)
    if (extra := overflow(page)) > 0:
        wide = page.evaluate(
            """() => [...document.querySelectorAll("body *")]
                .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
                .filter((e) => !e.closest("table") || e.matches("table"))
                .slice(0, 4)
                .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                    + (e.className ? "." + String(e.className).split(" ")[0] : ""))"""
        )
        problems.append(f"{name}: {extra} px wider than the {width} px window: {wide}")
    directory = os.environ.get("SCREENSHOTS_DIR")
    if directory and name in README_PAGES and width in (DESKTOP_WIDTH, PHONE_WIDTH):
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}-{width}.png"), full_page=True)
    return problems


@pytest.mark.parametrize(
    "width", [DESKTOP_WIDTH, PHONE_WIDTH, WIDE_WIDTH], ids=["laptop", "phone", "wide"]
)
def test_the_main_pages_fit_and_pass_axe(portal: Portal, width: int) -> None:
    lora = portal.create_via_api("lora", lora_body("deveui:0123456789abcdef", "0102030405"))
    mqtt = portal.create_via_api("mqtt", MQTT_BODY)
    campaign = draft_campaign(portal.team, [*lora_ids(60), "deveui:12345"])
    page = portal.signed_in(portal.admin, width)
    pages = {
        "team-home": "",
        "lora-list": "lora/",
        "mqtt-list": "mqtt/",
        "lora-detail": f"lora/{lora['id']}/",
        "mqtt-detail": f"mqtt/{mqtt['id']}/",
        "lora-send": "lora/new",
        "mqtt-send": "mqtt/new",
        "cancel": f"lora/{lora['id']}/cancel",
        "audit": "audit/",
        "members": "members/",
        "credential": "credential/",
        "sync": "sync/",
        "devices": "devices/",
        "device-new": "devices/new",
        "device-import": "devices/import",
        "device-types": "device-types/",
        "device-type-new": "device-types/new",
        "templates": "templates/",
        "template-new": "templates/new",
        "campaigns": "campaigns/",
        "campaign-new": "campaigns/new/lora",
        "campaign-preview": f"campaigns/{campaign.pk}/",
    }
    problems: list[str] = []
    for name, path in pages.items():
        page.goto(portal.team_url(path))
        page.wait_for_load_state("networkidle")
        problems += look(page, name, width)
    anonymous = portal.new_context(width).new_page()
    anonymous.goto(f"{portal.url}/accounts/sign-in/")
    problems += look(anonymous, "sign-in", width)
    assert not problems, "\n".join(problems)
