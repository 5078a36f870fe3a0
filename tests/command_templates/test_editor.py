"""The template editor as an admin posts it: a version per change, problems at the definition
field, nothing saved when anything is wrong."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import Action, AuditEntry
from command_templates.models import CommandTemplate
from devices.models import DeviceType, Kind
from teams.models import Role, Team
from tests.teams.world import sign_in, unaudited_member

NEW = "/t/lighthouse/templates/new"
DEFINITION = """\
parameters:
  - {name: minutes, type: integer, min: 1, max: 60, default: 15}
payload:
  layout: [{hex: "01"}, {parameter: minutes, as: u8}]
send: {f_port: 2}
"""


def fields(**overrides: str) -> dict[str, str]:
    values = {
        "name": "Set interval",
        "kind": "lora",
        "device_type": "",
        "description": "Report every so many minutes",
        "definition": DEFINITION,
    }
    return values | overrides


def test_an_admin_adds_a_template_and_each_change_is_a_version(
    admin_client: Client, team: Team
) -> None:
    response = admin_client.post(NEW, fields())
    template = CommandTemplate.objects.get(team=team)
    assert response.status_code == 302
    url = f"/t/lighthouse/templates/{template.pk}/"
    assert response["Location"] == url
    assert admin_client.post(url, fields()).status_code == 302  # nothing changed: no version
    assert list(template.versions.values_list("number", flat=True)) == [1]
    changed = fields(definition=DEFINITION.replace("default: 15", "default: 30"))
    assert admin_client.post(url, changed).status_code == 302
    assert list(template.versions.values_list("number", flat=True)) == [2, 1]
    first = template.versions.get(number=1)
    assert first.parsed.parameters[0].default == 15  # version 1 is as it was
    page = admin_client.get(url).content.decode()
    assert "Show version 1" in page
    actions = AuditEntry.objects.filter(team_id=team.pk).values_list("action", flat=True)
    assert list(actions.order_by("sequence")) == [
        Action.TEMPLATE_CREATED,
        Action.TEMPLATE_CHANGED,
        Action.TEMPLATE_CHANGED,
    ]


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        (
            {"definition": DEFINITION.replace("default: 15", "default: 99")},
            "parameters[0].default: Ensure this value is less than or equal to 60.",
        ),
        ({"definition": "payload: [1"}, "The definition is not valid YAML"),
        (
            {"definition": DEFINITION.replace("as: u8", "as: u9")},
            "payload.layout[1]: as must be one of",
        ),
        ({"kind": "mqtt"}, "send.f_port: an fPort is for LoRa; MQTT takes topic"),
    ],
)
def test_a_definition_with_problems_saves_nothing(
    admin_client: Client, changes: dict[str, str], said: str
) -> None:
    response = admin_client.post(NEW, fields(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors["definition"]
    assert any(error.startswith(said) for error in errors), errors
    assert not CommandTemplate.objects.exists()


def test_the_device_type_must_be_of_the_templates_kind(admin_client: Client, team: Team) -> None:
    tracker = DeviceType.objects.create(team=team, name="Tracker", kind=Kind.MQTT)
    response = admin_client.post(NEW, fields(device_type=str(tracker.pk)))
    assert response.status_code == 400
    assert response.context["form"].errors["device_type"] == [
        "Tracker is a MQTT type; this is a LoRa template."
    ]


def test_a_name_is_the_teams_once(admin_client: Client) -> None:
    admin_client.post(NEW, fields())
    again = admin_client.post(NEW, fields(name="SET INTERVAL"))
    assert again.status_code == 400
    assert CommandTemplate.objects.count() == 1


def test_everyone_reads_the_list_and_only_admins_edit(team: Team, viewer: User) -> None:
    operator = sign_in(Client(), unaudited_member(team, "olga", Role.OPERATOR))
    assert sign_in(Client(), viewer).get("/t/lighthouse/templates/").status_code == 200
    assert operator.get("/t/lighthouse/templates/").status_code == 200
    assert operator.get(NEW).status_code == 403
    assert operator.post(NEW, fields()).status_code == 403
    assert not CommandTemplate.objects.exists()
