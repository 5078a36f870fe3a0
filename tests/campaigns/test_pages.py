"""The campaign pages as a person uses them: paste ids (some bad, one twice), see the preview
with each row's problem and nothing sent, confirm by typing the number, pause, cancel, export
the rows and re-run the ones that did not get through."""

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import Action, AuditEntry
from benchmarks.simulated_team import team_on_simulator
from campaigns.models import Campaign, CampaignState, RowState
from campaigns.selectors import Outcome
from command_templates.models import CommandTemplate, definition_for
from command_templates.services import template_save
from downlinks.models import Downlink, SendState
from simulator.server import RunningSimulator
from teams.models import Role, Team
from tests.campaigns.conftest import LORA_MESSAGE, ORIGIN, lora_ids
from tests.teams.capture import body_of
from tests.teams.world import member_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(simulator: RunningSimulator) -> Team:
    return team_on_simulator(simulator, "fleet")


@pytest.fixture
def operator(team: Team) -> Client:
    return member_client(team, "olga", Role.OPERATOR)


def new_campaign(client: Client, ids: list[str], **extra: str) -> Campaign:
    form = {"targets-name": "Reboot ticket 123", "targets-device_ids": "\n".join(ids)}
    response = client.post("/t/fleet/campaigns/new/lora", {**form, **LORA_MESSAGE, **extra})
    assert response.status_code == 302, response.content.decode()[:3000]
    return Campaign.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def test_pasted_ids_are_previewed_with_their_problems_and_nothing_is_sent(
    operator: Client, simulator: RunningSimulator
) -> None:
    ids = lora_ids(38)
    pasted = [*ids[:10], "deveui:12345", *ids[10:], "imei:350266800610993"]
    pasted.append(ids[3].replace("deveui:", "urn:dev:DEVEUI:").upper())  # ids[3] again

    campaign = new_campaign(operator, pasted)
    page = operator.get(f"/t/fleet/campaigns/{campaign.pk}/").content.decode()

    assert campaign.state == CampaignState.DRAFT
    assert "<strong>38</strong> devices will be sent to" in page
    assert "<strong>2</strong> lines cannot be sent" in page
    assert "1 device named more than once, sent to once" in page
    assert "“deveui:12345” is not a device id" in page
    assert "is an MQTT device; this campaign sends LoRa" in page
    assert "Type the number of devices to start" in page
    assert simulator.app.request_log.count(method="POST") == 0
    assert AuditEntry.objects.filter(action=Action.CAMPAIGN_CREATED).count() == 1


def test_bad_message_input_is_said_at_the_field_and_no_campaign_is_made(
    operator: Client,
) -> None:
    form = {"targets-name": "x", "targets-device_ids": "", **LORA_MESSAGE, "f_port": "0"}
    response = operator.post("/t/fleet/campaigns/new/lora", form)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Name the devices: paste their ids, upload a CSV or pick a tag." in page
    assert "fPort" in page
    assert not Campaign.objects.exists()


def test_the_count_must_be_typed_right_before_anything_starts(operator: Client) -> None:
    campaign = new_campaign(operator, lora_ids(5))
    wrong = operator.post(f"/t/fleet/campaigns/{campaign.pk}/start", {"count": "50"})
    assert wrong.status_code == 400
    assert "That is not the number of devices this campaign sends to (5)." in wrong.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT

    right = operator.post(f"/t/fleet/campaigns/{campaign.pk}/start", {"count": "5"})
    assert right.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING
    assert campaign.rate == campaign.team.campaign_rate
    again = operator.post(f"/t/fleet/campaigns/{campaign.pk}/start", {"count": "5"})
    assert again.status_code == 302
    messages = operator.get(again["Location"]).content.decode()
    assert "This campaign cannot be started: it is running." in messages


def test_rows_already_on_their_way_are_flagged_and_skipped_unless_asked(
    operator: Client, team: Team
) -> None:
    ids = lora_ids(3)
    Downlink.objects.create(
        team=team, kind="lora", device_id=ids[1], send_state=SendState.UNKNOWN, submission_key="k"
    )
    campaign = new_campaign(operator, ids)
    page = operator.get(f"/t/fleet/campaigns/{campaign.pk}/").content.decode()
    assert "<strong>1</strong> device already has a downlink on its way" in page

    operator.post(f"/t/fleet/campaigns/{campaign.pk}/start", {"count": "3"})
    states = dict(campaign.rows.values_list("device_id", "state"))
    assert states[ids[1]] == RowState.SKIPPED
    assert states[ids[0]] == RowState.QUEUED


def test_pause_resume_and_cancel_are_audited_and_cancel_stops_the_queued_rows(
    operator: Client,
) -> None:
    campaign = new_campaign(operator, lora_ids(4))
    base = f"/t/fleet/campaigns/{campaign.pk}"
    operator.post(f"{base}/start", {"count": "4"})
    operator.post(f"{base}/pause")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.PAUSED
    operator.post(f"{base}/resume")
    operator.post(f"{base}/cancel")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.CANCELLED
    assert set(campaign.rows.values_list("state", flat=True)) == {RowState.CANCELLED}
    actions = (
        AuditEntry.objects.filter(target_kind="campaign")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert list(actions) == [
        Action.CAMPAIGN_CREATED,
        Action.CAMPAIGN_STARTED,
        Action.CAMPAIGN_PAUSED,
        Action.CAMPAIGN_RESUMED,
        Action.CAMPAIGN_CANCELLED,
    ]


def test_the_rows_export_as_csv_and_the_stopped_ones_make_a_new_campaign(
    operator: Client,
) -> None:
    ids = lora_ids(3)
    campaign = new_campaign(operator, [*ids, "=HYPERLINK(1)"])
    base = f"/t/fleet/campaigns/{campaign.pk}"
    operator.post(f"{base}/start", {"count": "3"})
    operator.post(f"{base}/cancel")

    export = operator.get(f"{base}/rows.csv")
    lines = list(csv.DictReader(io.StringIO(body_of(export))))
    assert [line["device_id"] for line in lines] == [*ids, "'=HYPERLINK(1)"]
    assert [line["outcome"] for line in lines] == [Outcome.STOPPED] * 3 + [Outcome.INVALID]

    rerun = operator.post(f"{base}/rerun", {"outcomes": [Outcome.STOPPED]})
    assert rerun.status_code == 302
    draft = Campaign.objects.exclude(pk=campaign.pk).get()
    assert draft.rerun_of == campaign
    assert draft.state == CampaignState.DRAFT
    assert list(draft.rows.values_list("device_id", flat=True)) == ids
    keys = set(draft.rows.values_list("submission_key", flat=True))
    assert keys.isdisjoint(campaign.rows.values_list("submission_key", flat=True))


def test_above_the_teams_size_a_second_person_approves_and_the_creator_cannot(
    operator: Client, team: Team
) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    saved = admin.post(
        "/t/fleet/campaigns/settings",
        {"campaign_rate": "10", "campaign_approval_above": "2"},
    )
    assert saved.status_code == 302
    campaign = new_campaign(operator, lora_ids(5))
    base = f"/t/fleet/campaigns/{campaign.pk}"
    assert "Confirm and ask for approval" in operator.get(f"{base}/").content.decode()

    operator.post(f"{base}/start", {"count": "5"})
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.AWAITING_APPROVAL
    refused = operator.post(f"{base}/approve", follow=True).content.decode()
    assert "The person who made a campaign cannot approve it" in refused
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.AWAITING_APPROVAL

    second = member_client(team, "oscar", Role.OPERATOR)
    page = second.get(f"{base}/").content.decode()
    assert "Waiting for approval: nothing has been sent" in page
    assert "Approve and start" in page
    second.post(f"{base}/approve")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING
    assert campaign.approved_by_label == "oscar"
    assert campaign.rate == 10
    actions = (
        AuditEntry.objects.filter(target_kind="campaign")
        .order_by("sequence")
        .values_list("action", "actor_label")
    )
    assert list(actions) == [
        (Action.CAMPAIGN_CREATED, "olga"),
        (Action.CAMPAIGN_SUBMITTED, "olga"),
        (Action.CAMPAIGN_APPROVED, "oscar"),
        (Action.CAMPAIGN_STARTED, "oscar"),
    ]


def test_the_rate_cannot_be_set_above_the_portals_maximum(team: Team, settings) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    response = admin.post(
        "/t/fleet/campaigns/settings", {"campaign_rate": str(settings.CAMPAIGN_MAX_RATE + 1)}
    )
    assert response.status_code == 400
    assert f"less than or equal to {settings.CAMPAIGN_MAX_RATE}" in response.content.decode()
    team.refresh_from_db()
    assert team.campaign_rate != settings.CAMPAIGN_MAX_RATE + 1


@pytest.fixture
def interval_template(team: Team) -> CommandTemplate:
    source = (
        "parameters:\n  - {name: interval, label: Interval, type: integer, min: 1, max: 200}\n"
        'payload:\n  layout:\n    - hex: "01"\n    - {parameter: interval, as: u8}\n'
        "send: {f_port: 2}\n"
    )
    template = CommandTemplate(team=team, name="Interval", kind="lora")
    template_save(
        template=template,
        description="",
        source=source,
        definition=definition_for(source, kind="lora", device_type=None),
        origin=ORIGIN,
        user=None,
    )
    return template


def post_csv(client: Client, template: CommandTemplate, text: str) -> Any:
    upload = SimpleUploadedFile("rows.csv", text.encode(), content_type="text/csv")
    form = {"targets-name": "Intervals", "targets-csv_file": upload, **LORA_MESSAGE}
    return client.post(f"/t/fleet/campaigns/new/template/{template.pk}", form)


def test_a_csv_gives_each_row_its_own_values_and_a_bad_value_stays_on_its_row(
    operator: Client, interval_template: CommandTemplate
) -> None:
    ids = lora_ids(3)
    text = f"device_id,interval\n{ids[0]},10\n{ids[1]},\n{ids[2]},999\n"
    response = operator.post(
        f"/t/fleet/campaigns/new/template/{interval_template.pk}",
        {
            "targets-name": "Intervals",
            "targets-csv_file": SimpleUploadedFile("rows.csv", text.encode()),
            "param_interval": "15",
            **LORA_MESSAGE,
        },
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    rows = {row.device_id: row for row in campaign.rows.all()}
    assert rows[ids[0]].request_body["message"]["payloadHex"] == "010a"
    assert rows[ids[1]].request_body["message"]["payloadHex"] == "010f"  # the shared value
    assert rows[ids[2]].state == RowState.INVALID
    assert "Interval: Ensure this value is less than or equal to 200." in rows[ids[2]].problem


def test_a_csv_column_that_is_no_parameter_is_said_at_the_file_not_a_500(
    operator: Client, interval_template: CommandTemplate
) -> None:
    response = post_csv(operator, interval_template, f"device,colour\n{lora_ids(1)[0]},red\n")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Column colour: not a parameter of Interval. Its parameters: interval." in page
    assert not Campaign.objects.exists()


def test_the_campaign_list_has_a_plain_title_and_its_settings_once_for_an_admin(
    team: Team,
) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    page = admin.get("/t/fleet/campaigns/").content.decode()
    assert "<title>Campaigns · Fleet · Things Portal</title>" in page
    assert page.count('id="campaign-settings"') == 1
