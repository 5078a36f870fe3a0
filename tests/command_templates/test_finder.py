"""Finding a template: by name or what it does, and for a device the ones that fit it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.trail import Origin
from command_templates.models import CommandTemplate, definition_for
from command_templates.services import template_save
from devices.models import CodecVersion, Device, DeviceType, Kind
from teams.models import Team
from tests.teams.world import sign_in

LIST = "/t/lighthouse/templates/"
METER_EUI = "deveui:0004a30b001c0530"


@pytest.fixture
def catalogue(team: Team) -> None:
    meter = DeviceType.objects.create(
        team=team, name="Water meter", kind=Kind.LORA, default_f_port=2
    )
    gauge = DeviceType.objects.create(team=team, name="Gauge", kind=Kind.LORA, default_f_port=3)
    codec = "function encodeDownlink(input) { return {bytes: [1]}; }"
    for with_codec in (meter, gauge):
        CodecVersion.objects.create(device_type=with_codec, number=1, source=codec, sha256="x")
    Device.objects.create(
        team=team, kind=Kind.LORA, device_id=METER_EUI, key=METER_EUI, device_type=meter
    )
    rows: tuple[tuple[str, str, DeviceType | None, str, str], ...] = (
        ("Meter reboot", Kind.LORA, meter, "Restart it", "payload: {codec: {}}\n"),
        ("Gauge reboot", Kind.LORA, gauge, "Restart it", "payload: {codec: {}}\n"),
        (
            "Ping",
            Kind.LORA,
            None,
            "Wake up and answer",
            "payload: {layout: [{hex: '00'}]}\nsend: {f_port: 1}\n",
        ),
        ("Hello", Kind.MQTT, None, "Say hello", "payload: {text: hi}\nsend: {topic: t}\n"),
    )
    for name, kind, device_type, description, text in rows:
        template = CommandTemplate(team=team, name=name, kind=kind, device_type=device_type)
        definition = definition_for(text, kind=kind, device_type=device_type)
        template_save(
            template=template,
            description=description,
            source=text,
            definition=definition,
            origin=Origin.system("test"),
            user=None,
        )


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", {"Meter reboot", "Gauge reboot", "Ping", "Hello"}),
        ("?q=reboot", {"Meter reboot", "Gauge reboot"}),
        ("?q=wake", {"Ping"}),
        (f"?device={METER_EUI}", {"Meter reboot", "Ping"}),  # its type's, and any device's
        (f"?device=urn:dev:DEVEUI:{METER_EUI[7:].upper()}", {"Meter reboot", "Ping"}),
        ("?device=deveui:0004a30b001c0599", {"Meter reboot", "Gauge reboot", "Ping"}),  # unlisted
        ("?device=imei:350266800610993", {"Hello"}),
        (f"?device={METER_EUI}&q=gauge", set()),
    ],
)
def test_the_list_narrows_to_what_fits(viewer: User, query: str, names: set[str]) -> None:
    response = sign_in(Client(), viewer).get(LIST + query)
    assert response.status_code == 200
    assert {template.name for template in response.context["templates"]} == names


@pytest.mark.usefixtures("catalogue")
def test_the_send_links_carry_the_device(admin_client: Client) -> None:
    page = admin_client.get(f"{LIST}?device={METER_EUI}").content.decode()
    assert "send?device=deveui%3A0004a30b001c0530" in page
    devices = admin_client.get("/t/lighthouse/devices/").content.decode()
    assert "/t/lighthouse/templates/?device=deveui%3A0004a30b001c0530" in devices
