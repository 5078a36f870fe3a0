"""The forms of a campaign: its devices (pasted, a CSV, or a tag of the catalogue), its message
(the kind's send form or a template's, without the device: each row names its own), the
confirmation (the number of devices, typed), and the row filter of its page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from campaigns.targets import MAX_TARGETS, Targets, TargetsError, from_csv, from_tag, from_text
from command_templates.fields import PREFIX
from command_templates.models import TemplateVersion
from core.filter_form import FilterForm
from core.uploads import uploaded_text
from devices.models import DeviceTag
from downlinks.forms import SendForm, TemplateSendForm, send_form_class
from teams.models import Team

# The send form's fields a campaign's message form does without: each row has its device and
# its own one-time key, and whether to send to devices with one on its way is asked once.
PER_ROW_FIELDS = ("device_id", "submission_key", "send_anyway")


class TargetsForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What it is for, as the campaign list shows it (e.g. the ticket).",
    )
    device_ids = forms.CharField(
        label="Device ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text="One per line, or separated by commas or spaces; every id form is taken, and "
        "a device named twice is sent to once.",
    )
    csv_file = forms.FileField(
        label="Or a CSV file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="A header row with device_id; for a template, a column per parameter that "
        "differs per device (an empty cell takes the value below).",
    )
    tag = forms.ChoiceField(
        label="Or the devices with the tag",
        required=False,
        help_text="The team's devices of this kind with the tag, from the device list.",
    )

    def __init__(
        self,
        *args: Any,
        team: Team,
        kind: str,
        version: TemplateVersion | None = None,
        **kwargs: Any,
    ) -> None:
        """`version`: the template the campaign sends, whose parameters a CSV may give."""
        super().__init__(*args, **kwargs)
        self.team, self.kind, self.version = team, kind, version
        self.parameters = {p.name for p in version.parsed.parameters} if version else set()
        tags = DeviceTag.objects.filter(team=team, devices__kind=kind).distinct()
        tag_field = self.fields["tag"]
        assert isinstance(tag_field, forms.ChoiceField)
        tag_field.choices = [("", "—"), *((tag.name, tag.name) for tag in tags)]
        self.targets: Targets | None = None

    def clean_csv_file(self) -> str:
        return uploaded_text(
            self.cleaned_data.get("csv_file"),
            "CSV file",
            max_bytes=settings.CAMPAIGN_CSV_MAX_BYTES,
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        given = [
            name
            for name in ("device_ids", "csv_file", "tag")
            if cleaned.get(name) not in ("", None)
        ]
        if not given:
            self.add_error(
                "device_ids", "Name the devices: paste their ids, upload a CSV or pick a tag."
            )
            return cleaned
        if len(given) > 1:
            self.add_error(given[1], "Give the devices one way only.")
            return cleaned
        source = given[0]
        try:
            if source == "device_ids":
                self.targets = from_text(cleaned["device_ids"], self.kind)
            elif source == "csv_file":
                self.targets = from_csv(cleaned["csv_file"], self.kind)
            else:
                self.targets = from_tag(self.team, self.kind, cleaned["tag"])
        except TargetsError as error:
            self.add_error(source, str(error))
            return cleaned
        if not self.targets.targets:
            self.add_error(source, "No device ids in it.")
        unknown = [column for column in self.targets.columns if column not in self.parameters]
        if unknown:
            self.add_error("csv_file", self._not_parameters(unknown))
        return cleaned

    def _not_parameters(self, columns: list[str]) -> str:
        said = f"Column{'s' if len(columns) > 1 else ''} {', '.join(columns)}: "
        if self.version is None:
            return said + "a raw message has no parameters; only device_id is read."
        known = ", ".join(sorted(self.parameters)) or "none"
        return f"{said}not a parameter of {self.version.template}. Its parameters: {known}."

    @property
    def per_row(self) -> tuple[str, ...]:
        """The CSV's columns that give a template parameter per device."""
        columns = self.targets.columns if self.targets is not None else ()
        return tuple(column for column in columns if column in self.parameters)


def message_form(
    data: Any,
    *,
    team: Team,
    kind: str,
    version: TemplateVersion | None,
    per_row: tuple[str, ...] = (),
    for_a_row: bool = False,
) -> SendForm[Any]:
    """The kind's send form, or the template version's, without the per-row fields. A
    parameter given per row (`per_row`, by name) is not needed here, and the payload is made
    per row then, not here (`for_a_row`: the form of one such row)."""
    form: SendForm[Any]
    if version is None:
        form = send_form_class(kind)(data, lora_payload_limit=team.lora_payload_limit)
    else:
        form = TemplateSendForm(
            data,
            version=version,
            device_type=version.template.device_type,
            lora_payload_limit=team.lora_payload_limit,
            makes_payload=not per_row,
            decodes_back=not for_a_row,
        )
        for name in per_row:
            form.fields[f"{PREFIX}{name}"].required = False
    for name in PER_ROW_FIELDS:
        form.fields.pop(name, None)
    return form


def row_form(
    shared: Any, values: dict[str, str], *, team: Team, version: TemplateVersion
) -> TemplateSendForm:
    """One row's template form: the shared values with the row's own over them."""
    data = shared.copy()
    for name, value in values.items():
        data[f"{PREFIX}{name}"] = value
    form = message_form(
        data, team=team, kind=version.template.kind, version=version, for_a_row=True
    )
    assert isinstance(form, TemplateSendForm)
    return form


class ConfirmForm(forms.Form):
    count = forms.IntegerField(
        label="Type the number of devices to start",
        min_value=0,
        max_value=MAX_TARGETS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    send_anyway = forms.BooleanField(
        required=False,
        label="Also send to the devices that already have a downlink on its way",
        help_text="Left unticked, those rows are skipped (the duplicate guard of a single send).",
    )
    start_at = forms.DateTimeField(
        label="Start at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty: start now.",
    )

    def __init__(self, *args: Any, sendable: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sendable = sendable

    def clean_count(self) -> int:
        count: int = self.cleaned_data["count"]
        if count != self.sendable:
            raise forms.ValidationError(
                f"That is not the number of devices this campaign sends to ({self.sendable:,})."
            )
        return count


class RowFilterForm(FilterForm):
    outcome = forms.ChoiceField(required=False, label="Show")
    q = forms.CharField(required=False, max_length=100, label="Device id")

    def __init__(self, *args: Any, outcomes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["outcome"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Every row"), *outcomes]


class RerunForm(forms.Form):
    outcomes = forms.MultipleChoiceField(
        label="Rows to send again", widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, outcomes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["outcomes"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = outcomes


class CampaignSettingsForm(forms.Form):
    campaign_rate = forms.IntegerField(
        label="Downlinks per second",
        min_value=1,
        help_text="How fast the team's campaigns create downlinks, together.",
    )
    campaign_approval_above = forms.IntegerField(
        label="A second person approves campaigns of more devices than",
        min_value=0,
        required=False,
        help_text="Empty: no campaign needs approval for its size.",
    )
    campaign_approval_raw = forms.BooleanField(
        label="A second person approves every campaign of a raw message",
        required=False,
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "campaign_rate": team.campaign_rate,
                "campaign_approval_above": team.campaign_approval_above,
                "campaign_approval_raw": team.campaign_approval_raw,
            },
        )
        super().__init__(*args, **kwargs)
        rate = self.fields["campaign_rate"]
        assert isinstance(rate, forms.IntegerField)
        rate.max_value = settings.CAMPAIGN_MAX_RATE
        rate.validators.append(MaxValueValidator(settings.CAMPAIGN_MAX_RATE))
        rate.widget.attrs["max"] = settings.CAMPAIGN_MAX_RATE
        rate.help_text += f" At most {settings.CAMPAIGN_MAX_RATE} (the portal's maximum)."
