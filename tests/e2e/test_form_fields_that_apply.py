"""Fields that apply to one choice only, in Chromium at a laptop's and a phone's width: the MQTT
binary payload's format shows (and can be used) only for a binary message, the credential form
shows only the chosen kind's fields, and the LoRa preview counts the payload against the
team's limit, which the form holds it to."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from downlinks.forms import LoraSendForm, MqttMessageType, MqttSendForm
from teams.forms import GRIP_FIELDS, TOKEN_FIELDS, CredentialForm
from teams.models import LORA_PAYLOAD_LIMIT_DEFAULT, AuthKind
from tests.e2e.conftest import WIDTHS, Portal

pytestmark = pytest.mark.browser

BINARY_FORMAT = str(MqttSendForm.base_fields["payload_format"].label)
TEXT, BINARY = (label for _, label in MqttMessageType.CHOICES)


def field(page: Page, label: str) -> Locator:
    return page.get_by_label(label, exact=True)


def expect_off(control: Locator) -> None:
    """Hidden, and out of reach: disabled controls are neither focused by Tab nor sent."""
    expect(control).to_be_hidden()
    expect(control).to_be_disabled()


def expect_on(control: Locator) -> None:
    expect(control).to_be_visible()
    expect(control).to_be_enabled()


@WIDTHS
def test_the_binary_format_shows_only_for_a_binary_message(portal: Portal, width: int) -> None:
    page = portal.signed_in(portal.operator, width)
    page.goto(portal.team_url("mqtt/new"))
    preview = page.locator("#preview")
    expect(field(page, TEXT)).to_be_checked()
    expect_off(field(page, BINARY_FORMAT))

    field(page, BINARY).check()
    expect_on(field(page, BINARY_FORMAT))
    field(page, BINARY_FORMAT).select_option(label="Hex")
    field(page, "Payload").fill("0102 03")
    expect(preview).to_contain_text("Payload: 3 bytes")

    field(page, TEXT).check()
    expect_off(field(page, BINARY_FORMAT))
    expect(preview).to_contain_text("Payload: 7 bytes")  # the text itself, as UTF-8

    # Back to binary: the format chosen before is sent again (base64 would refuse "0102 03").
    field(page, BINARY).check()
    expect_on(field(page, BINARY_FORMAT))
    expect(field(page, BINARY_FORMAT)).to_have_value("hex")
    expect(preview).to_contain_text("Payload: 3 bytes")


@WIDTHS
def test_the_credential_form_shows_only_the_chosen_kinds_fields(portal: Portal, width: int) -> None:
    labels = {
        name: str(CredentialForm.base_fields[name].label) for name in CredentialForm.base_fields
    }
    grip = [labels[name] for name in GRIP_FIELDS]
    token = [labels[name] for name in TOKEN_FIELDS]
    page = portal.signed_in(portal.admin, width)
    page.goto(portal.team_url("credential/"))
    expect(field(page, str(AuthKind.CLIENT_CREDENTIALS.label))).to_be_checked()
    for label in grip:
        expect_on(field(page, label))
    for label in token:
        expect_off(field(page, label))
    for always in ("api_url", "auth_kind"):
        expect(page.locator(f".field-{always}")).to_be_visible()

    field(page, str(AuthKind.STATIC_TOKEN.label)).check()
    for label in token:
        expect_on(field(page, label))
    for label in grip:
        expect_off(field(page, label))

    field(page, str(AuthKind.CLIENT_CREDENTIALS.label)).check()
    for label in grip:
        expect_on(field(page, label))
    for label in token:
        expect_off(field(page, label))


@WIDTHS
def test_the_lora_preview_counts_against_the_limit_and_the_form_holds_to_it(
    portal: Portal, width: int
) -> None:
    limit = portal.team.lora_payload_limit
    assert limit == LORA_PAYLOAD_LIMIT_DEFAULT
    payload_label = str(LoraSendForm.base_fields["payload"].label)
    page = portal.signed_in(portal.operator, width)
    page.goto(portal.team_url("lora/new"))
    preview = page.locator("#preview")
    page.get_by_label("Device id").fill("deveui:0123456789abcdef")
    field(page, payload_label).fill("01 02 03 04 05")
    expect(preview).to_contain_text(f"5 of {limit} bytes")

    field(page, payload_label).fill("ab" * (limit + 1))
    expect(preview).to_contain_text(f"{limit + 1} of {limit} bytes")
    expect(preview).to_contain_text(f"limit of {limit} bytes")

    portal.problems.expect_status(400, "/lora/new")
    portal.clear_simulator_requests()
    page.get_by_role("button", name="Send downlink").click()
    error = page.locator("#id_payload_error")
    expect(error).to_contain_text(f"This payload is {limit + 1} bytes")
    expect(error).to_contain_text(f"LoRa payload limit of {limit} bytes")
    expect(error).to_contain_text("Credential page")
    expect(field(page, payload_label)).to_have_attribute(
        "aria-describedby", re.compile(r"\bid_payload_error\b")
    )
    assert not [r for r in portal.simulator_requests() if r["method"] == "POST"]
