"""Devices: added one by one and from a CSV file (posted as a browser posts them), listed,
searched and filtered, taken off the list; each change audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import Action, AuditEntry
from devices.forms import IMPORT_COLUMNS
from devices.models import Device, DeviceType, Kind
from teams.models import Team
from tests.teams.world import sign_in

NEW = "/t/lighthouse/devices/new"
IMPORT = "/t/lighthouse/devices/import"
LIST = "/t/lighthouse/devices/"
EUI = "deveui:0004a30b001c0530"


@pytest.fixture
def meter(team: Team) -> DeviceType:
    return DeviceType.objects.create(team=team, name="Water meter", kind=Kind.LORA)


@pytest.fixture
def tracker(team: Team) -> DeviceType:
    return DeviceType.objects.create(team=team, name="Tracker", kind=Kind.MQTT)


def device_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "device_id": EUI,
        "label": "Hall 3",
        "device_type": "",
        "kind": "",
        "tags": "",
    }
    fields.update(overrides)
    return fields


def test_an_admin_adds_a_device_its_kind_read_from_its_id(
    admin_client: Client, team: Team, meter: DeviceType
) -> None:
    response = admin_client.post(
        NEW, device_fields(device_type=str(meter.pk), tags="North, pilot-2 north")
    )
    assert response.status_code == 302
    device = Device.objects.get(team=team)
    assert (device.kind, device.key, device.label) == (Kind.LORA, EUI, "Hall 3")
    assert sorted(tag.name for tag in device.tags.all()) == ["north", "pilot-2"]
    entry = AuditEntry.objects.get(action=Action.DEVICE_ADDED)
    assert (entry.device_id, entry.asked["tags"]) == (EUI, ["north", "pilot-2"])


@pytest.mark.parametrize(
    ("fields", "field", "said"),
    [
        ({"device_id": "0004a30b001c0530"}, "device_id", "is not a device id"),
        (
            {"device_id": "478a82d4-128f-47a6-aa61-2eac3f2a23ad"},
            "kind",
            "Choose whether this is a LoRa or an MQTT device: its id does not say.",
        ),
        ({"kind": "mqtt"}, "kind", "the id says LoRa, the kind given says MQTT"),
        ({"tags": "north pilot/2"}, "tags", "“pilot/2” is not a tag"),
    ],
)
def test_a_device_that_cannot_be_is_told_at_its_field(
    admin_client: Client, fields: dict[str, object], field: str, said: str
) -> None:
    response = admin_client.post(NEW, device_fields(**fields))
    assert response.status_code == 400
    assert any(said in error for error in response.context["form"].errors[field])
    assert not Device.objects.exists()


def test_the_kind_of_its_type_must_be_the_kind_of_its_id(
    admin_client: Client, tracker: DeviceType
) -> None:
    response = admin_client.post(NEW, device_fields(device_type=str(tracker.pk)))
    assert response.status_code == 400
    errors = response.context["form"].errors["kind"]
    assert errors == ["The kinds disagree: the id says LoRa, the device type says MQTT."]


def test_a_uuid_takes_its_kind_from_its_type(admin_client: Client, tracker: DeviceType) -> None:
    uuid = "478a82d4-128f-47a6-aa61-2eac3f2a23ad"
    response = admin_client.post(NEW, device_fields(device_id=uuid, device_type=str(tracker.pk)))
    assert response.status_code == 302
    assert Device.objects.get().kind == Kind.MQTT


def test_a_device_listed_in_another_spelling_is_not_added_twice(
    admin_client: Client, team: Team
) -> None:
    assert admin_client.post(NEW, device_fields()).status_code == 302
    again = admin_client.post(NEW, device_fields(device_id="urn:dev:DEVEUI:0004A30B001C0530:"))
    assert again.status_code == 400
    assert again.context["form"].errors["device_id"] == [f"{EUI} is listed already as 'Hall 3'."]
    assert Device.objects.count() == 1


def csv_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("devices.csv", text.encode("utf-8-sig"), content_type="text/csv")


def test_a_csv_file_adds_devices_and_updates_those_listed_already(
    admin_client: Client, team: Team, meter: DeviceType, tracker: DeviceType
) -> None:
    Device.objects.create(team=team, kind=Kind.LORA, device_id=EUI, key=EUI, label="old")
    text = (
        "device_id,label,device_type,tags,kind\n"
        f"{EUI.upper()},Hall 3,water meter,north,\n"
        "imei:350266800610993,Truck 7,Tracker,fleet north,\n"
        "478a82d4-128f-47a6-aa61-2eac3f2a23ad,Spare,,,lora\n"
        ",,,,\n"
    )
    response = admin_client.post(IMPORT, {"file": csv_file(text)})
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert messages == ["Imported: 2 devices added, 1 updated."]
    devices = {d.key: d for d in Device.objects.filter(team=team)}
    assert set(devices) == {EUI, "imei:350266800610993", "478a82d4-128f-47a6-aa61-2eac3f2a23ad"}
    assert (devices[EUI].label, devices[EUI].device_type) == ("Hall 3", meter)
    assert devices["imei:350266800610993"].kind == Kind.MQTT
    entry = AuditEntry.objects.get(action=Action.DEVICES_IMPORTED)
    assert entry.asked == {"rows": 3, "added": 2, "updated": 1}


def test_a_csv_file_with_bad_rows_imports_nothing_and_names_each_row(
    admin_client: Client, team: Team, meter: DeviceType
) -> None:
    text = (
        "device_id,label,device_type,tags\n"
        f"{EUI},Hall 3,Water meter,north\n"
        "0004a30b001c0531,Hall 4,,\n"
        "deveui:0004a30b001c0532,Hall 5,Gas meter,\n"
        f"urn:dev:deveui:{EUI[7:]},Hall 3 again,,\n"
        "imei:350266800610993,Truck,Water meter,\n"
        "deveui:0004a30b001c0533,,,bad/tag\n"
    )
    response = admin_client.post(IMPORT, {"file": csv_file(text)})
    assert response.status_code == 400
    assert response.context["row_problems"] == [
        "Row 3: “0004a30b001c0531” is not a device id. "
        "A device id starts with its kind, such as deveui: or imei:.",
        "Row 4: the team has no device type called “Gas meter”.",
        f"Row 5: urn:dev:deveui:{EUI[7:]} is on row 2 already.",
        "Row 6: The kinds disagree: the id says MQTT, the device type says LoRa.",
        "Row 7: “bad/tag” is not a tag: use letters, digits, dots, dashes and underscores, "
        "at most 50.",
    ]
    page = response.content.decode()
    assert "Nothing was imported." in page
    assert not Device.objects.exists()
    assert not AuditEntry.objects.filter(team_id=team.pk).exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("label,tags\nHall,north\n", "The first row must name the columns, device_id among them."),
        (
            f"device_id,colour\n{EUI},red\n",
            "Unknown column: colour. Use " + ", ".join(IMPORT_COLUMNS),
        ),
        ("device_id\n", "The file has no devices in it."),
    ],
)
def test_a_csv_file_that_is_not_a_device_list_is_told(
    admin_client: Client, text: str, said: str
) -> None:
    response = admin_client.post(IMPORT, {"file": csv_file(text)})
    assert response.status_code == 400
    assert any(said in error for error in response.context["form"].errors["file"])


def test_the_import_template_is_a_file_the_import_takes(admin_client: Client, team: Team) -> None:
    template = admin_client.get("/t/lighthouse/devices/import-template.csv")
    assert template["Content-Type"] == "text/csv; charset=utf-8"
    response = admin_client.post(IMPORT, {"file": csv_file(template.content.decode())})
    assert response.status_code == 302
    assert Device.objects.filter(team=team).count() == 1


@pytest.fixture
def listed(team: Team, other_team: Team, meter: DeviceType, admin: User) -> None:
    client = sign_in(Client(), admin)
    text = "device_id,label,device_type,tags\n" + "".join(
        f"deveui:00000000000000{n:02x},Meter {n},{'Water meter' if n % 2 else ''},"
        f"{'north' if n < 30 else 'south'}\n"
        for n in range(60)
    )
    assert client.post(IMPORT, {"file": csv_file(text)}).status_code == 302
    Device.objects.create(team=other_team, kind=Kind.LORA, device_id=EUI, key=EUI, label="Meter 7")


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize(
    ("query", "labels"),
    [
        ("q=Meter+7", {"Meter 7"}),
        ("q=URN:DEV:DEVEUI:000000000000000A", {"Meter 10"}),
        ("q=0000000000000003", {"Meter 3"}),
        ("q=00000000000000", {f"Meter {n}" for n in range(50)}),  # the first page of 60
        ("tag=south&q=meter+5", {"Meter 5" + str(n) for n in range(10)}),
    ],
)
def test_the_device_list_is_searched_by_id_and_label_and_filtered_by_tag(
    viewer: User, meter: DeviceType, query: str, labels: set[str]
) -> None:
    response = sign_in(Client(), viewer).get(f"{LIST}?{query}")
    assert response.status_code == 200
    shown = {device.label for device in response.context["page"]}
    assert shown == labels
    assert "Edit" not in response.content.decode()  # viewers read, admins change


@pytest.mark.usefixtures("listed")
def test_the_list_pages_and_filters_by_type(viewer: User, meter: DeviceType) -> None:
    client = sign_in(Client(), viewer)
    first = client.get(LIST).context["page"]
    assert (first.paginator.count, len(first)) == (60, 50)
    typed = client.get(f"{LIST}?device_type={meter.pk}").context["page"]
    assert {d.device_type for d in typed} == {meter}
    assert typed.paginator.count == 30
    fragment = client.get(
        f"{LIST}?q=Meter+7", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    html = fragment.content.decode().strip()
    assert html.startswith('<div id="results"')
    assert "<html" not in html


@pytest.mark.usefixtures("listed")
def test_a_filter_that_is_not_valid_looks_nothing_up(viewer: User) -> None:
    response = sign_in(Client(), viewer).get(f"{LIST}?tag=nowhere")
    assert response.status_code == 400
    assert "Some filters are not valid; nothing was looked up." in response.content.decode()


def test_a_device_is_taken_off_the_list_after_asking(admin_client: Client, team: Team) -> None:
    admin_client.post(NEW, device_fields())
    device = Device.objects.get()
    url = f"/t/lighthouse/devices/{device.pk}/remove"
    assert "Take" in admin_client.get(url).content.decode()
    assert Device.objects.exists()
    assert admin_client.post(url).status_code == 302
    assert not Device.objects.exists()
    assert AuditEntry.objects.filter(action=Action.DEVICE_REMOVED, device_id=EUI).exists()


def test_viewers_cannot_change_devices(viewer: User, team: Team) -> None:
    device = Device.objects.create(team=team, kind=Kind.LORA, device_id=EUI, key=EUI)
    client = sign_in(Client(), viewer)
    for url in (NEW, IMPORT, f"/t/lighthouse/devices/{device.pk}/edit"):
        assert client.get(url).status_code == 403
        assert client.post(url, device_fields()).status_code == 403
    assert Device.objects.get().label == ""
