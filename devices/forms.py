"""The forms of the device catalogue: device types with their codec upload, devices one by
one and from a CSV file, and the device list's filters."""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Final

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from core.filter_form import FilterForm
from core.uploads import uploaded_text
from devices.fields import DeviceIdField, kind_of_device_id
from devices.models import Device, DeviceTag, DeviceType, Kind
from devices.services import CodecUpload, DeviceValues
from teams.models import Team
from things_api import device_id_problem, same_device_key

TAG_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")
# The columns of a device import, in the order the template file has them.
IMPORT_COLUMNS: Final = ("device_id", "label", "device_type", "tags", "kind")
IMPORT_MAX_ROWS: Final = 5000


def _text_file(upload: UploadedFile[bytes] | None, what: str) -> str:
    return uploaded_text(upload, what, max_bytes=settings.CODEC_MAX_BYTES)


def parse_tags(text: str) -> tuple[str, ...]:
    """Tags separated by spaces, commas or semicolons, in lower case; ValueError naming a tag
    that is not one."""
    names = [name for name in re.split(r"[\s,;]+", text.strip().lower()) if name]
    for name in names:
        if not TAG_PATTERN.fullmatch(name):
            raise ValueError(
                f"“{name}” is not a tag: use letters, digits, dots, dashes and underscores, "
                "at most 50."
            )
    return tuple(dict.fromkeys(names))


class DeviceTypeForm(forms.ModelForm[DeviceType]):
    codec = forms.FileField(
        required=False,
        label="Codec (JavaScript)",
        help_text="The vendor's codec file: encodeDownlink(input), optionally decodeDownlink. "
        "Uploading one makes a new version; the ones before stay for the downlinks they made.",
        widget=forms.ClearableFileInput(attrs={"accept": ".js,text/javascript"}),
    )
    examples = forms.FileField(
        required=False,
        label="Codec examples (YAML)",
        help_text="The codec's definition from the device repository, with "
        "downlinkEncoder.examples: each is run, and a codec that fails one is refused.",
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml"}),
    )

    class Meta:
        model = DeviceType
        fields = ["name", "kind", "default_f_port", "default_topic", "payload_limit"]
        widgets = {"kind": forms.RadioSelect}
        help_texts = {
            "default_f_port": "LoRa: the port a downlink goes to unless the codec or the "
            "sender says otherwise.",
            "default_topic": "MQTT: the topic a downlink goes to unless the sender says otherwise.",
        }

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.instance.team = team
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = Kind.choices  # no empty choice: a type has a kind
        self.fields["payload_limit"].help_text = (
            f"Bytes. LoRa: at most the team's limit, {team.lora_payload_limit}. "
            "Empty: the team's limit."
        )

    # The fields that apply to one kind only (shown for it by depends-on.js; ignored otherwise).
    SHOWN_WHEN: Final = {"default_f_port": "kind=lora", "default_topic": "kind=mqtt"}

    def laid_out(self) -> list[tuple[forms.BoundField, str]]:
        """Each field with the choice it applies to ("" for every choice)."""
        return [(field, self.SHOWN_WHEN.get(field.name, "")) for field in self]

    def clean_codec(self) -> str:
        return _text_file(self.cleaned_data.get("codec"), "codec file")

    def clean_examples(self) -> str:
        return _text_file(self.cleaned_data.get("examples"), "examples file")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == Kind.LORA:
            cleaned["default_topic"] = ""
            limit = cleaned.get("payload_limit")
            if limit is not None and limit > self.team.lora_payload_limit:
                self.add_error(
                    "payload_limit",
                    f"At most {self.team.lora_payload_limit} bytes: the team's LoRa limit.",
                )
        elif kind == Kind.MQTT:
            cleaned["default_f_port"] = None
        if cleaned.get("examples") and not cleaned.get("codec"):
            self.add_error("examples", "Upload the codec with its examples: they are run on it.")
        return cleaned

    def codec_upload(self) -> CodecUpload | None:
        source = self.cleaned_data.get("codec") or ""
        return CodecUpload(source, self.cleaned_data.get("examples") or "") if source else None


class _DeviceFields:
    """What a device form and a CSV row check alike."""

    def __init__(self, team: Team) -> None:
        self.types = {t.name.lower(): t for t in DeviceType.objects.filter(team=team)}

    def values(
        self,
        *,
        device_id: str,
        label: str,
        device_type: DeviceType | None,
        tags: tuple[str, ...],
        kind: str | None,
    ) -> DeviceValues:
        """The device's values; ValueError in words when its kind is not settled or clashes."""
        implied = kind_of_device_id(device_id)
        candidates = {
            "the id": implied,
            "the device type": device_type.kind if device_type else None,
            "the kind given": kind or None,
        }
        named = {source: value for source, value in candidates.items() if value}
        if len(set(named.values())) > 1:
            said = ", ".join(
                f"{source} says {Kind(value).label}" for source, value in named.items()
            )
            raise ValueError(f"The kinds disagree: {said}.")
        if not named:
            raise ValueError(
                "Choose whether this is a LoRa or an MQTT device: its id does not say."
            )
        return DeviceValues(
            device_id=device_id,
            kind=next(iter(named.values())),
            label=label,
            device_type=device_type,
            tags=tags,
        )


class DeviceForm(forms.Form):
    device_id = DeviceIdField()
    label = forms.CharField(max_length=100, required=False)
    device_type = forms.ModelChoiceField(
        queryset=DeviceType.objects.none(), required=False, empty_label="None"
    )
    kind = forms.ChoiceField(
        choices=[("", "From the id or the type"), *Kind.choices],
        required=False,
        help_text="Needed only when neither the id (a UUID or dvnuuid:) nor the type says.",
    )
    tags = forms.CharField(
        required=False,
        max_length=500,
        help_text="Separated by spaces or commas, e.g. “north pilot-2”. Campaigns can pick "
        "devices by tag.",
    )

    def __init__(self, *args: Any, team: Team, device: Device | None = None, **kwargs: Any):
        if device is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "device_id": device.device_id,
                "label": device.label,
                "device_type": device.device_type_id,
                "kind": device.kind,
                "tags": " ".join(tag.name for tag in device.tags.all()),
            }
        super().__init__(*args, **kwargs)
        self.device_fields = _DeviceFields(team)
        type_field = self.fields["device_type"]
        assert isinstance(type_field, forms.ModelChoiceField)
        type_field.queryset = DeviceType.objects.filter(team=team)

    def clean_tags(self) -> tuple[str, ...]:
        try:
            return parse_tags(self.cleaned_data.get("tags", ""))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "device_id" in cleaned and "tags" in cleaned:
            try:
                cleaned["values"] = self.device_fields.values(
                    device_id=cleaned["device_id"],
                    label=cleaned.get("label", ""),
                    device_type=cleaned.get("device_type"),
                    tags=cleaned["tags"],
                    kind=cleaned.get("kind"),
                )
            except ValueError as error:
                self.add_error("kind", str(error))
        return cleaned


class DeviceImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One device per row, with a header row: "
        + ", ".join(IMPORT_COLUMNS)
        + ". Only device_id is needed. A device the team lists already is updated.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.row_problems: list[str] = []

    def clean_file(self) -> list[DeviceValues]:
        text = _text_file(self.cleaned_data.get("file"), "CSV file")
        reader = csv.DictReader(io.StringIO(text))
        header = [name.strip().lower() for name in reader.fieldnames or []]
        if "device_id" not in header:
            raise forms.ValidationError(
                "The first row must name the columns, device_id among them."
            )
        unknown = [name for name in header if name not in IMPORT_COLUMNS]
        if unknown:
            raise forms.ValidationError(
                f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                f"Use {', '.join(IMPORT_COLUMNS)}."
            )
        reader.fieldnames = header
        fields = _DeviceFields(self.team)
        rows: list[DeviceValues] = []
        first_line: dict[tuple[str, str], int] = {}
        for row in reader:
            line = reader.line_num
            if len(rows) >= IMPORT_MAX_ROWS:
                raise forms.ValidationError(f"At most {IMPORT_MAX_ROWS:,} devices per file.")
            cells = {name: (row.get(name) or "").strip() for name in IMPORT_COLUMNS}
            if not any(cells.values()):
                continue
            problem = self._row_problem(fields, cells, rows)
            if problem:
                self.row_problems.append(f"Row {line}: {problem}")
                continue
            key = (rows[-1].kind, same_device_key(rows[-1].device_id))
            if key in first_line:
                self.row_problems.append(
                    f"Row {line}: {cells['device_id']} is on row {first_line[key]} already."
                )
                rows.pop()
                continue
            first_line[key] = line
        if self.row_problems:
            many = len(self.row_problems) > 1
            raise forms.ValidationError(
                f"{len(self.row_problems)} row{'s' if many else ''} cannot be imported, so "
                f"nothing was: fix {'them' if many else 'it'} and upload the file again."
            )
        if not rows:
            raise forms.ValidationError("The file has no devices in it.")
        return rows

    @staticmethod
    def _row_problem(
        fields: _DeviceFields, cells: dict[str, str], rows: list[DeviceValues]
    ) -> str | None:
        """What is wrong with the row, or None after appending its values to `rows`."""
        device_id = cells["device_id"]
        if not device_id:
            return "device_id is empty."
        problem = device_id_problem(device_id)
        if problem:
            return f"“{device_id}” is not a device id. {problem}"
        if len(cells["label"]) > 100:
            return "the label is longer than 100 characters."
        device_type = None
        if cells["device_type"]:
            device_type = fields.types.get(cells["device_type"].lower())
            if device_type is None:
                return f"the team has no device type called “{cells['device_type']}”."
        kind = cells["kind"].lower()
        if kind and kind not in Kind.values:
            return f"kind is “{cells['kind']}”; use lora or mqtt."
        try:
            tags = parse_tags(cells["tags"])
            rows.append(
                fields.values(
                    device_id=device_id,
                    label=cells["label"],
                    device_type=device_type,
                    tags=tags,
                    kind=kind or None,
                )
            )
        except ValueError as error:
            return str(error)
        return None


class DeviceFilterForm(FilterForm):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.SearchInput(attrs={"placeholder": "Id or label"}),
    )
    tag = forms.ChoiceField(required=False, label="Tag")
    device_type = forms.ChoiceField(required=False, label="Device type")
    kind = forms.ChoiceField(required=False, choices=[("", "Both kinds"), *Kind.choices])

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tags = DeviceTag.objects.filter(team=team).values_list("name", flat=True)
        types = DeviceType.objects.filter(team=team).values_list("pk", "name")
        tag_field, type_field = self.fields["tag"], self.fields["device_type"]
        assert isinstance(tag_field, forms.ChoiceField)
        assert isinstance(type_field, forms.ChoiceField)
        tag_field.choices = [("", "Any tag"), *((tag, tag) for tag in tags)]
        type_field.choices = [("", "Any type"), *((str(pk), name) for pk, name in types)]
