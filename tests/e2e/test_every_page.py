"""Every kind of page in a browser: no console error, no CSP violation, a Content Security
Policy without 'unsafe-inline' or 'unsafe-eval', and no serious or critical axe-core finding."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Response, expect

from tests.e2e.accessibility import serious_violations
from tests.e2e.conftest import Portal, lora_body

pytestmark = pytest.mark.browser


def strict_csp(response: Response | None, url: str) -> None:
    assert response is not None, url
    assert response.status == 200, f"{url} answered {response.status}"
    policy = response.headers.get("content-security-policy", "")
    assert "script-src" in policy, f"{url} has no script-src policy"
    assert "'unsafe-inline'" not in policy, url
    assert "'unsafe-eval'" not in policy, url


def visit(page: Page, url: str) -> None:
    strict_csp(page.goto(url), url)
    assert serious_violations(page) == [], url


def test_every_page_kind_is_clean(portal: Portal) -> None:
    lora = portal.create_via_api("lora", lora_body("deveui:0123456789abcdef"))
    mqtt = portal.create_via_api(
        "mqtt",
        {
            "deviceId": "imei:350266800610993",
            "message": {"type": "text", "payload": "hello", "topic": "downlink"},
            "feedbackTimeout": "PT1H",
        },
    )
    page = portal.signed_in(portal.admin)  # an admin sees every team page

    pages: tuple[str, ...] = ("", "lora/", "mqtt/", "members/", "audit/", "sync/", "devices/")
    pages += ("devices/new", "devices/import", "device-types/", "device-types/new")
    pages += ("templates/", "templates/new", "campaigns/", "campaigns/new/lora")
    for path in pages:
        visit(page, portal.team_url(path))
    visit(page, f"{portal.url}/teams/")
    visit(page, f"{portal.url}/accounts/password/")
    expect(page.get_by_label("Old password")).to_be_visible()

    visit(page, portal.team_url("credential/"))
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).not_to_be_empty()

    for kind, downlink in (("lora", lora), ("mqtt", mqtt)):
        visit(page, portal.team_url(f"{kind}/{downlink['id']}/"))
        expect(page.locator("#downlink-status")).to_have_text("Pending")
        page.get_by_role("link", name="Show the raw JSON").click()
        expect(page.locator("#raw pre")).to_contain_text(downlink["id"])
        visit(page, portal.team_url(f"{kind}/{downlink['id']}/raw"))
        visit(page, portal.team_url(f"{kind}/{downlink['id']}/cancel"))
        expect(page.get_by_role("button", name="Cancel the downlink")).to_be_visible()
        visit(page, portal.team_url(f"{kind}/new?clone={downlink['id']}"))
        expect(page.get_by_label("Device id")).to_have_value(downlink["deviceId"])

    visit(page, portal.team_url("lora/new"))
    page.get_by_label("Payload", exact=True).fill("zz")
    expect(page.locator("#preview")).to_contain_text("Hex uses only the digits 0-9")
    visit(page, portal.team_url("mqtt/new"))
    page.get_by_label("Payload", exact=True).fill("hi")
    expect(page.locator("#preview")).to_contain_text("2 bytes")

    anonymous = portal.new_context().new_page()
    visit(anonymous, f"{portal.url}/accounts/sign-in/")
    expect(anonymous.get_by_label("Username")).to_be_focused()

    assert portal.problems.seen == []
