"""An admin builds the team's device catalogue in Chromium: a device type with the vendor's
codec (files chosen as a person chooses them), a codec that loops refused in words, a CSV
import with a bad row and then a good one, and the list searched as they type."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from devices.example_codecs import HERE as EXAMPLE_CODECS
from tests.e2e.conftest import PHONE_WIDTH, Portal

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_device_type_with_its_codec_then_devices(
    portal: Portal, tmp_path: Path
) -> None:
    page = portal.signed_in(portal.admin, PHONE_WIDTH)
    # A form with problems answers 400, which the browser logs.
    portal.problems.expect_status(400, "/t/e2e/device-types/new")
    portal.problems.expect_status(400, "/t/e2e/devices/import")
    page.goto(portal.team_url("device-types/new"))
    page.get_by_label("Name").fill("Water meter")
    page.get_by_label("LoRa").check()
    expect(page.get_by_label("Default topic")).to_be_hidden()  # an MQTT field
    page.get_by_label("Default fPort").fill("2")
    looping = tmp_path / "loops.js"
    looping.write_text("function encodeDownlink(input) { while (true) {} }")
    examples = EXAMPLE_CODECS / "water_meter.yaml"
    page.get_by_label("Codec (JavaScript)").set_input_files(looping)
    page.get_by_label("Codec examples (YAML)").set_input_files(examples)
    page.get_by_role("button", name="Add device type").click()
    expect(page.locator(".error-summary")).to_contain_text(
        "The codec took longer than 50 ms running encodeDownlink and was stopped."
    )
    page.get_by_label("Codec (JavaScript)").set_input_files(EXAMPLE_CODECS / "water_meter.js")
    page.get_by_label("Codec examples (YAML)").set_input_files(examples)
    page.get_by_role("button", name="Add device type").click()
    expect(
        page.get_by_text("Water meter was added, with codec version 1 (7 examples passed).")
    ).to_be_visible()
    expect(page.get_by_role("table", name="Codec versions")).to_contain_text("Version 1")

    page.goto(portal.team_url("devices/import"))
    devices = tmp_path / "devices.csv"
    devices.write_text(
        "device_id,label,device_type,tags\n"
        "deveui:0004a30b001c0530,Hall 3,Water meter,north\n"
        "0004a30b001c0531,Hall 4,Water meter,north\n"
    )
    page.get_by_label("CSV file").set_input_files(devices)
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#row-problems")).to_contain_text(
        "Row 3: “0004a30b001c0531” is not a device id."
    )
    devices.write_text(
        devices.read_text()
        .replace(",0004a30b", ",deveui:0004a30b")
        .replace("\n0004a30b", "\ndeveui:0004a30b")
    )
    page.get_by_label("CSV file").set_input_files(devices)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported: 2 devices added, 0 updated.")).to_be_visible()

    page.get_by_label("Search").fill("hall 4")
    expect(page.get_by_role("table", name="Devices").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("table", name="Devices")).to_contain_text("deveui:0004a30b001c0531")
    assert "q=hall%204" in page.url  # the search is in the address, to paste into a ticket
