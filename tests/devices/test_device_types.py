"""Device types and their codecs, through the pages an admin uses: the upload is posted as a
browser posts a form with files, the codec runs in the real sandbox."""

from __future__ import annotations

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import Action, AuditEntry
from devices.example_codecs import WATER_METER_CODEC, WATER_METER_EXAMPLES
from devices.models import CodecVersion, Device, DeviceType, Kind
from teams.models import Role, Team
from tests.teams.world import sign_in, unaudited_member

NEW = "/t/lighthouse/device-types/new"


def js(source: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("codec.js", source.encode(), content_type="text/javascript")


def yaml_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("codec.yaml", text.encode(), content_type="application/yaml")


def type_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "name": "Water meter",
        "kind": "lora",
        "default_f_port": "2",
        "default_topic": "",
        "payload_limit": "",
    }
    fields.update(overrides)
    return fields


def test_an_admin_adds_a_device_type_with_a_codec_whose_examples_pass(
    admin_client: Client, team: Team
) -> None:
    response = admin_client.post(
        NEW,
        type_fields(codec=js(WATER_METER_CODEC), examples=yaml_file(WATER_METER_EXAMPLES)),
    )
    device_type = DeviceType.objects.get(team=team)
    assert response.status_code == 302
    assert response["Location"] == f"/t/lighthouse/device-types/{device_type.pk}/"
    (version,) = device_type.codec_versions.all()
    assert (version.number, version.examples_run, version.has_decoder) == (1, 7, True)
    assert version.source == WATER_METER_CODEC
    page = admin_client.get(response["Location"]).content.decode()
    assert "with codec version 1 (7 examples passed)" in page
    in_team = AuditEntry.objects.filter(team_id=team.pk).order_by("sequence")
    actions = list(in_team.values_list("action", flat=True))
    assert actions == [Action.DEVICE_TYPE_CREATED, Action.CODEC_UPLOADED]
    uploaded = AuditEntry.objects.get(action=Action.CODEC_UPLOADED)
    assert uploaded.asked["sha256"] == CodecVersion.digest(WATER_METER_CODEC)
    assert "encodeDownlink" not in str(uploaded.asked)  # the source itself is not audited


LOOPS = "function encodeDownlink(input) { while (true) {} }"
ALLOCATES = "function encodeDownlink(input) { var a = []; while (true) a.push(new Array(1e5)); }"
THROWS = "function encodeDownlink(input) { throw new Error('valve not supported'); }"
OUT_OF_RANGE = "function encodeDownlink(input) { return {bytes: [input.data.big ? 300 : -1]}; }"
ANY_EXAMPLE = (
    "downlinkEncoder:\n  examples:\n    - input: {data: {big: true}}\n      output: {bytes: [1]}\n"
)


@pytest.mark.parametrize(
    ("source", "examples", "said"),
    [
        (LOOPS, ANY_EXAMPLE, "took longer than 50 ms running encodeDownlink and was stopped"),
        (THROWS, ANY_EXAMPLE, "The codec failed: Error: valve not supported"),
        (OUT_OF_RANGE, ANY_EXAMPLE, "The codec returned 300 at byte 1; a byte is a whole number"),
        (
            OUT_OF_RANGE,
            ANY_EXAMPLE.replace("big: true", "big: false"),
            "The codec returned -1 at byte 1",
        ),
        ("function encodeDownlink(input) {", "", "The codec could not be read"),
        ("function decodeDownlink(input) { return {data: 1}; }", "", "has no encodeDownlink"),
        (
            WATER_METER_CODEC,
            WATER_METER_EXAMPLES.replace(
                "output: {bytes: [1, 0, 15], fPort: 2}", "output: {bytes: [1, 0, 16], fPort: 2}"
            ),
            "downlinkEncoder Example 1 (Report every 15 minutes): "
            "expected bytes 01 00 10, got 01 00 0F",
        ),
        (WATER_METER_CODEC, "downlinkEncoder: [1", "The examples file is not valid YAML"),
    ],
    ids=[
        "loops",
        "throws",
        "300",
        "minus-one",
        "syntax",
        "no-encoder",
        "examples",
        "yaml",
    ],
)
def test_a_codec_that_cannot_be_trusted_is_refused_in_words_and_the_next_upload_works(
    admin_client: Client, team: Team, source: str, examples: str, said: str
) -> None:
    files = {"codec": js(source)} | ({"examples": yaml_file(examples)} if examples else {})
    response = admin_client.post(NEW, type_fields(**files))
    assert response.status_code == 400
    assert said in response.content.decode()
    assert not DeviceType.objects.exists()
    assert not AuditEntry.objects.filter(team_id=team.pk).exists()
    # The sandbox recovered: the next upload is run and accepted.
    again = admin_client.post(
        NEW,
        type_fields(codec=js(WATER_METER_CODEC), examples=yaml_file(WATER_METER_EXAMPLES)),
    )
    assert again.status_code == 302
    assert CodecVersion.objects.filter(device_type__team=team).count() == 1


def test_a_codec_that_allocates_without_end_is_stopped_at_the_memory_limit(
    admin_client: Client, team: Team, settings: LazySettings
) -> None:
    # A time limit this machine cannot reach first, so only the memory limit can stop it.
    settings.CODEC_CALL_MS = 20_000
    settings.CODEC_WALL_SECONDS = 60
    files = {"codec": js(ALLOCATES), "examples": yaml_file(ANY_EXAMPLE)}
    response = admin_client.post(NEW, type_fields(**files))
    assert response.status_code == 400
    assert "used more than 32 MB of memory running encodeDownlink" in response.content.decode()
    again = admin_client.post(NEW, type_fields(codec=js(WATER_METER_CODEC)))
    assert again.status_code == 302
    assert DeviceType.objects.filter(team=team).count() == 1


def test_the_same_codec_posted_twice_is_one_version_and_a_new_file_is_the_next(
    admin_client: Client, team: Team
) -> None:
    admin_client.post(NEW, type_fields(codec=js(WATER_METER_CODEC)))
    device_type = DeviceType.objects.get(team=team)
    url = f"/t/lighthouse/device-types/{device_type.pk}/"
    for _ in range(2):  # a resubmitted form
        assert admin_client.post(url, type_fields(codec=js(WATER_METER_CODEC))).status_code == 302
    assert list(device_type.codec_versions.values_list("number", flat=True)) == [1]
    changed = WATER_METER_CODEC.replace("0x03, data.open", "0x04, data.open")
    assert admin_client.post(url, type_fields(codec=js(changed))).status_code == 302
    assert list(device_type.codec_versions.values_list("number", flat=True)) == [2, 1]
    first = admin_client.get(f"/t/lighthouse/device-types/{device_type.pk}/codec/1.js")
    assert first["Content-Type"] == "text/plain; charset=utf-8"
    assert first.content.decode() == WATER_METER_CODEC
    page = admin_client.get(url).content.decode()
    assert "Version 2</a> <small>(current)</small>" in page


def test_saving_without_a_file_keeps_the_codec(admin_client: Client, team: Team) -> None:
    admin_client.post(NEW, type_fields(codec=js(WATER_METER_CODEC)))
    device_type = DeviceType.objects.get(team=team)
    url = f"/t/lighthouse/device-types/{device_type.pk}/"
    assert admin_client.post(url, type_fields(name="Water meter v2")).status_code == 302
    device_type.refresh_from_db()
    assert device_type.name == "Water meter v2"
    assert device_type.current_codec() is not None
    changed = AuditEntry.objects.get(action=Action.DEVICE_TYPE_CHANGED)
    assert changed.asked == {"name": "Water meter v2"}


@pytest.mark.parametrize(
    ("fields", "field", "said"),
    [
        ({"payload_limit": "52"}, "payload_limit", "At most 51 bytes: the team's LoRa limit."),
        ({"default_f_port": "224"}, "default_f_port", "less than or equal to 223"),
        ({"kind": ""}, "kind", "This field is required."),
        ({"name": ""}, "name", "This field is required."),
        (
            {"examples": yaml_file(WATER_METER_EXAMPLES)},
            "examples",
            "Upload the codec with its examples",
        ),
        (
            {"codec": SimpleUploadedFile("c.js", b"\xff\xfe\x00function")},
            "codec",
            "The codec file is not UTF-8 text.",
        ),
    ],
)
def test_bad_values_are_told_at_their_field(
    admin_client: Client, fields: dict[str, object], field: str, said: str
) -> None:
    response = admin_client.post(NEW, type_fields(**fields))
    assert response.status_code == 400
    form = response.context["form"]
    assert any(said in error for error in form.errors[field])
    assert not DeviceType.objects.exists()


def test_a_name_is_the_teams_once_whatever_its_case(admin_client: Client, team: Team) -> None:
    DeviceType.objects.create(team=team, name="Water meter", kind=Kind.LORA)
    response = admin_client.post(NEW, type_fields(name="WATER METER"))
    assert response.status_code == 400
    assert (
        "Lighthouse has a device type called &#x27;WATER METER&#x27;" in response.content.decode()
    )


def test_the_kind_of_a_type_with_devices_stays(admin_client: Client, team: Team) -> None:
    device_type = DeviceType.objects.create(team=team, name="Water meter", kind=Kind.LORA)
    Device.objects.create(
        team=team,
        kind=Kind.LORA,
        device_id="deveui:0004a30b001c0530",
        key="deveui:0004a30b001c0530",
        device_type=device_type,
    )
    response = admin_client.post(
        f"/t/lighthouse/device-types/{device_type.pk}/", type_fields(kind="mqtt")
    )
    assert response.status_code == 400
    assert "Water meter has devices, so its kind stays LoRa." in response.content.decode()


def test_only_admins_manage_device_types_and_other_teams_see_none(
    team: Team, other_team: Team, viewer: User
) -> None:
    operator = sign_in(Client(), unaudited_member(team, "olga", Role.OPERATOR))
    elsewhere = DeviceType.objects.create(team=other_team, name="Theirs", kind=Kind.LORA)
    for url in ("/t/lighthouse/device-types/", NEW):
        assert operator.get(url).status_code == 403
        assert sign_in(Client(), viewer).get(url).status_code == 403
    admin = sign_in(Client(), unaudited_member(team, "ada", Role.ADMIN))
    assert admin.get(f"/t/lighthouse/device-types/{elsewhere.pk}/").status_code == 404
    assert admin.get("/t/harbour/device-types/").status_code == 404
