"""A campaign in Chromium, as a support person runs one for a ticket: paste 40 ids (two of
them wrong), see them flagged, confirm by typing the number, have it approved by a second
person (the team's rule), watch the bar reach the end, export the rows and re-run the ones the
API refused. A real Celery worker sends, to the simulator over HTTP."""

import csv
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from campaigns.models import Campaign, CampaignState
from tests.campaigns.conftest import lora_ids
from tests.e2e.conftest import Portal
from things_portal.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker() -> Iterator[None]:
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=60):
        yield


def test_paste_confirm_approve_watch_export_and_rerun_the_refused(
    portal: Portal, worker: None
) -> None:
    team = portal.team
    team.campaign_rate, team.campaign_approval_above = 50, 10
    team.save(update_fields=["campaign_rate", "campaign_approval_above"])
    portal.problems.expect_status(400, "/start")
    ids = lora_ids(38)
    pasted = "\n".join([*ids[:20], "deveui:12345", *ids[20:], "not-an-id"])

    page = portal.signed_in(portal.operator)
    page.goto(portal.team_url("campaigns/"))
    page.get_by_role("button", name="A raw LoRa message").click()
    page.get_by_label("Name").fill("Reboot the meters of ticket 4711")
    page.get_by_label("Device ids").fill(pasted)
    page.get_by_label("Payload", exact=True).fill("01 02")
    page.get_by_label("fPort").fill("7")
    page.get_by_role("button", name="Preview the campaign").click()

    expect(page.get_by_role("heading", name="Preview: nothing has been sent")).to_be_visible()
    expect(page.locator(".campaign-preview")).to_contain_text("38 devices will be sent to")
    expect(page.locator(".campaign-preview")).to_contain_text("2 lines cannot be sent")
    rows = page.locator("table.campaign-rows")
    expect(rows).to_contain_text("“deveui:12345” is not a device id")
    expect(rows).to_contain_text("“not-an-id” is not a device id")
    page.get_by_label("Type the number of devices to start").fill("40")
    page.get_by_role("button", name="Confirm and ask for approval").click()
    expect(page.locator(".field-count")).to_contain_text("That is not the number of devices")
    page.get_by_label("Type the number of devices to start").fill("38")
    page.get_by_role("button", name="Confirm and ask for approval").click()
    expect(page.get_by_role("heading", name=re.compile("Waiting for approval"))).to_be_visible()
    campaign_url = page.url

    # The API refuses three creates: those rows end refused, the rest is sent.
    httpx.post(
        f"{portal.simulator.url}/_sim/faults",
        json={"kind": "error", "status": 400, "method": "POST", "path": "/lora/downlinks",
              "times": 3},
    ).raise_for_status()  # fmt: skip
    approver = portal.signed_in(portal.admin)
    approver.goto(campaign_url)
    approver.get_by_role("button", name="Approve and start").click()

    page.goto(campaign_url)
    expect(page.locator("#percent-done")).to_have_text("100", timeout=60_000)
    expect(page.locator("#counts")).to_contain_text("Refused by the API")
    expect(page.locator('dd[data-outcome="refused"]')).to_have_text("3")
    expect(page.locator('dd[data-outcome="sent"]')).to_have_text("35")
    expect(page.locator('dd[data-outcome="invalid"]')).to_have_text("2")
    campaign = Campaign.objects.get()
    assert campaign.state == CampaignState.FINISHED
    # Once it ended, the page shows itself whole again: the re-run form is there.
    expect(page.get_by_role("button", name="Make a campaign of these rows")).to_be_visible()
    assert campaign.approved_by_label == portal.admin.username

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rows as CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert len(exported) == 40
    assert sorted(line["outcome"] for line in exported).count("refused") == 3

    page.get_by_label("Refused by the API").check()
    page.get_by_role("button", name="Make a campaign of these rows").click()
    expect(page.get_by_role("heading", name="Preview: nothing has been sent")).to_be_visible()
    expect(page.locator(".campaign-preview")).to_contain_text("3 devices will be sent to")
    expect(page.locator("p.help").first).to_contain_text("a re-run of")
