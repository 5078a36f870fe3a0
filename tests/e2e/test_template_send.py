"""Sending from a template in Chromium: a field for every parameter type, each refusing what
it cannot take at the field, the live preview of the bytes, and the preview equal to what the
simulator then holds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from audit.trail import Origin
from command_templates.models import CommandTemplate, definition_for
from command_templates.services import template_save
from devices import services as device_services
from devices.example_codecs import WATER_METER_CODEC
from devices.models import DeviceType, Kind
from tests.e2e.conftest import PHONE_WIDTH, TENANT, Portal

pytestmark = pytest.mark.browser

EVERY_TYPE = """\
parameters:
  - {name: minutes, label: Interval, type: integer, min: 1, max: 1440, unit: minutes, default: 15}
  - {name: gain, label: Gain, type: number, min: 0, max: 2}
  - {name: valve, label: Open the valve, type: boolean}
  - name: mode
    label: Mode
    type: choice
    choices: [{value: eco, label: Economy}, {value: boost, label: Boost}]
  - {name: tag, label: Tag, type: text, max_length: 8, pattern: "[a-z]+"}
  - {name: key, label: Key, type: hex, bytes: 2}
  - {name: delay, label: Delay, type: duration, max: 3600}
payload:
  codec: {command: set_interval, interval_minutes: 1}
send: {retry_limit: 1}
"""
# The water meter's codec reads only interval_minutes: the other parameters travel in
# input.data, which is what a vendor codec gets; the fixed value is overridden by none of them.


def make(portal: Portal) -> CommandTemplate:
    origin = Origin.system("test")
    meter = DeviceType(team=portal.team, name="Water meter", kind=Kind.LORA, default_f_port=2)
    device_services.device_type_save(
        device_type=meter,
        codec=device_services.CodecUpload(WATER_METER_CODEC),
        origin=origin,
        uploaded_by=None,
    )
    source = EVERY_TYPE.replace("name: minutes", "name: interval_minutes")
    template = CommandTemplate(
        team=portal.team, name="Everything", kind=Kind.LORA, device_type=meter
    )
    definition = definition_for(source, kind=Kind.LORA, device_type=meter)
    template_save(
        template=template,
        description="",
        source=source,
        definition=definition,
        origin=origin,
        user=None,
    )
    return template


def creates(portal: Portal) -> list[dict[str, Any]]:
    return [
        r
        for r in portal.simulator_requests()
        if r["method"] == "POST" and r["path"] == "/lora/downlinks"
    ]


@pytest.mark.parametrize("width", [1366, PHONE_WIDTH], ids=["laptop", "phone"])
def test_every_parameter_type_in_the_browser(portal: Portal, width: int) -> None:
    template = make(portal)
    portal.problems.expect_status(400, f"/t/e2e/templates/{template.pk}/send")
    page = portal.signed_in(portal.operator, width)
    page.goto(portal.team_url(f"templates/{template.pk}/send"))
    expect(page.get_by_label("Interval")).to_have_value("15")
    expect(page.locator("#preview")).to_contain_text("once every value is filled in")
    page.get_by_label("Device id").fill("deveui:0004a30b001c0530")

    bad = {
        "Interval": ("0", "Ensure this value is greater than or equal to 1."),
        "Gain": ("3", "Ensure this value is less than or equal to 2."),
        "Tag": ("AB", "Must match the pattern [a-z]+."),
        "Key": ("abc", "Hex has two digits per byte; one digit is missing."),
        "Delay": ("2 h", "At most 3600 seconds."),
    }
    for label, (value, _) in bad.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("Mode").select_option("boost")
    page.get_by_role("button", name="Send downlink").click()
    for label, (_, said) in bad.items():
        expect(page.locator(".field").filter(has=page.get_by_label(label))).to_contain_text(said)
    assert creates(portal) == []

    page.get_by_label("Interval").fill("900")
    page.get_by_label("Gain").fill("1.5")
    page.get_by_label("Open the valve").check()
    page.get_by_label("Tag").fill("north")
    page.get_by_label("Key").fill("BE EF")
    page.get_by_label("Delay").fill("15 min")
    expect(page.locator("#preview-hex")).to_have_text("010384")
    expect(page.locator("#preview")).to_contain_text("on fPort 2")
    shown = page.locator("#preview-hex").inner_text()
    page.get_by_role("button", name="Send downlink").click()
    expect(page.locator("#made-with")).to_contain_text("Everything, version 1")
    expect(page.locator("#made-with")).to_contain_text("delay = 900")
    (create,) = creates(portal)
    assert create["body"]["message"]["payloadHex"].upper() == shown  # the simulator's request log
    downlink_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    answer = httpx.get(  # the API's copy, read back over HTTP
        f"{portal.simulator.url}/lora/downlinks/{downlink_id}",
        headers={"Authorization": f"Bearer {portal.simulator.token(TENANT)}"},
    ).json()
    assert answer["message"]["payloadHex"].upper() == shown
    assert answer["retryLimit"] == 1
