"""The template editor: name, kind, device type, description and the definition (YAML),
checked as a whole before a version is made."""

from __future__ import annotations

from typing import Any, Final

from django import forms

from command_templates.definition import Definition, DefinitionError
from command_templates.fields import parameter_field
from command_templates.models import CommandTemplate, definition_for
from core.filter_form import FilterForm
from devices.fields import DeviceIdField
from devices.models import DeviceType, Kind
from teams.models import Team

EXAMPLE_DEFINITION: Final = """\
parameters:
  - name: interval_minutes
    label: Reporting interval
    type: integer
    min: 1
    max: 1440
    unit: minutes
    default: 15
payload:
  layout:
    - hex: "01"
    - parameter: interval_minutes
      as: u16
send:
  f_port: 2
  feedback_timeout: PT1H
"""


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Kind.choices, widget=forms.RadioSelect)
    device_type = forms.ModelChoiceField(
        queryset=DeviceType.objects.none(),
        required=False,
        empty_label="Any device",
        help_text="Its codec can make the payload; sending to a device of this type offers "
        "this template.",
    )
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    definition = forms.CharField(
        label="Definition (YAML)",
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
        strip=False,
        max_length=20000,
        help_text="The parameters, how the payload is made of them (codec, layout or text) "
        "and the send options; the reference is below.",
    )

    def __init__(
        self, *args: Any, team: Team, template: CommandTemplate | None = None, **kwargs: Any
    ) -> None:
        if template is not None and "initial" not in kwargs:
            current = template.current()
            kwargs["initial"] = {
                "name": template.name,
                "kind": template.kind,
                "device_type": template.device_type_id,
                "description": current.description,
                "definition": current.source,
            }
        super().__init__(*args, **kwargs)
        self.team = team
        self.template = template
        type_field = self.fields["device_type"]
        assert isinstance(type_field, forms.ModelChoiceField)
        type_field.queryset = DeviceType.objects.filter(team=team)
        if template is not None:
            self.fields["kind"].disabled = True
            self.fields[
                "kind"
            ].help_text = "A template keeps its kind; make a new one for the other."
        else:
            self.fields["definition"].initial = EXAMPLE_DEFINITION

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        device_type: DeviceType | None = cleaned.get("device_type")
        if kind and device_type is not None and device_type.kind != kind:
            self.add_error(
                "device_type",
                f"{device_type.name} is a {device_type.get_kind_display()} type; "
                f"this is a {Kind(kind).label} template.",
            )
            return cleaned
        if kind and "definition" in cleaned:
            try:
                definition = definition_for(
                    cleaned["definition"], kind=kind, device_type=device_type
                )
            except DefinitionError as error:
                for problem in error.problems:
                    self.add_error("definition", problem)
            else:
                for problem in default_problems(definition):
                    self.add_error("definition", problem)
                cleaned["read"] = definition
        return cleaned


def default_problems(definition: Definition) -> list[str]:
    """A default its own field would refuse, in the field's words."""
    problems = []
    for number, parameter in enumerate(definition.parameters):
        if parameter.default is None:
            continue
        field = parameter_field(parameter)
        value = parameter.default
        if parameter.type == "boolean":
            value = "on" if value else ""
        elif parameter.type == "choice":
            value = str(value)
        try:
            field.clean(value)
        except forms.ValidationError as error:
            problems.append(f"parameters[{number}].default: {' '.join(error.messages)}")
    return problems


class TemplatesOnlyForm(forms.Form):
    templates_only = forms.BooleanField(
        required=False,
        label="Operators send from templates only",
        help_text="The raw LoRa and MQTT send forms then refuse operators; admins may still "
        "send raw.",
    )


class TemplateFinderForm(FilterForm):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.SearchInput(attrs={"placeholder": "Name or what it does"}),
    )
    device = DeviceIdField(
        required=False,
        label="For device",
        help_text="Only the templates that fit it: its type's, and those for any device.",
    )
