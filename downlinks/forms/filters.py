"""The lists' filters, read from the URL, and the columns a list can be sorted by. The
statuses, failure reasons and device id formats to filter by are the API package's."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from core.form_fields import DateTimeLocalField, require_later
from downlinks.models import Kind
from downlinks.selectors import FAILED, PAGE_TOKEN_MAX_CHARS, SUCCEEDED
from things_api import (
    CANCELLED,
    DONE,
    KNOWN_LORA_FAILURE_REASONS,
    KNOWN_MQTT_FAILURE_REASONS,
    STATUS_ORDER,
    DeviceIdFormat,
    SearchFilters,
    SortField,
    device_id_format,
    device_id_problem,
    suggest_device_ids,
)

PAGE_SIZES = (10, 25, 50, 100)

# Sortable columns: the name in our URL → the API's field, per kind.
SORT_COLUMNS: dict[str, dict[str, str]] = {
    Kind.LORA: {
        "device": "deviceId",
        "status": "status",
        "payload": "message.payloadHex",
        "port": "message.fPort",
        "retries": "retryCount",
        "created": "createdAt",
        "modified": "modifiedAt",
    },
    Kind.MQTT: {
        "device": "deviceId",
        "status": "status",
        "payload": "message.payload",
        "topic": "message.topic",
        "created": "createdAt",
        "modified": "modifiedAt",
    },
}
DEFAULT_SORT = "-created"
COLUMN_LABELS = {
    "device": "Device",
    "status": "Status",
    "payload": "Payload",
    "port": "fPort",
    "retries": "Retries",
    "topic": "Topic",
    "created": "Created",
    "modified": "Modified",
}


def list_columns(kind: str) -> list[tuple[str, str]]:
    return [(column, COLUMN_LABELS[column]) for column in SORT_COLUMNS[kind]]


def outcome_choices(kind: str) -> list[tuple[str, str]]:
    """Succeeded, failed, or one of the kind's known failure reasons (labelled as the rows
    show them)."""
    reasons = KNOWN_LORA_FAILURE_REASONS if kind == Kind.LORA else KNOWN_MQTT_FAILURE_REASONS
    return [
        ("", "Any outcome"),
        (SUCCEEDED, "Succeeded"),
        (FAILED, "Failed (any reason)"),
        (CANCELLED, "Cancelled"),
        *[(reason, f"Failed: {reason}") for reason in sorted(reasons - {CANCELLED})],
    ]


class DownlinkFilterForm(forms.Form):
    """The list's filters, read from the URL (so a pasted link opens the same view)."""

    device = forms.CharField(
        required=False,
        max_length=100,
        label="Device id",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "deveui:…, imei:… or a downlink id",
            }
        ),
    )
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "Any status"), *[(status, status) for status in STATUS_ORDER]],
    )
    outcome = forms.ChoiceField(required=False, label="Outcome")
    created_since = DateTimeLocalField(required=False, label="Created from")
    created_before = DateTimeLocalField(required=False, label="Created before")
    modified_since = DateTimeLocalField(required=False, label="Modified from")
    modified_before = DateTimeLocalField(required=False, label="Modified before")
    sort = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)
    limit = forms.TypedChoiceField(
        required=False,
        label="Per page",
        coerce=int,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )
    cursor = forms.CharField(
        required=False, widget=forms.HiddenInput, max_length=PAGE_TOKEN_MAX_CHARS
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        # What a bare EUI or IMEI in the device field most likely means (see clean_device).
        self.device_suggestions: tuple[str, ...] = ()
        self.fields["outcome"].choices = outcome_choices(kind)  # type: ignore[attr-defined]
        self.fields["limit"].initial = settings.THINGS_PAGE_SIZE
        if self.is_bound and not self.data.get("limit"):
            # A bound form shows its data, not the initial value: without this, a list shown
            # with the default page size would show (and resubmit) the first size instead.
            data = self.data.copy()  # type: ignore[attr-defined]
            data["limit"] = str(settings.THINGS_PAGE_SIZE)
            self.data = data
        if settings.THINGS_PAGE_SIZE not in PAGE_SIZES:
            sizes = sorted({*PAGE_SIZES, settings.THINGS_PAGE_SIZE})
            self.fields["limit"].choices = [(size, str(size)) for size in sizes]  # type: ignore[attr-defined]

    def clean_device(self) -> str:
        value: str = self.cleaned_data["device"]
        problem = device_id_problem(value) if value else None
        if problem is not None:
            self.device_suggestions = suggest_device_ids(value)
            raise ValidationError(f"“{value}” is not a device id. {problem}")
        return value

    def clean_sort(self) -> str:
        value: str = self.cleaned_data.get("sort") or DEFAULT_SORT
        if value.removeprefix("-") not in SORT_COLUMNS[self.kind]:
            raise ValidationError("Sort by one of the list's columns.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for since, before in (
            ("created_since", "created_before"),
            ("modified_since", "modified_before"),
        ):
            require_later(self, cleaned, since, before, "This must be later than the “from” time.")
        if cleaned.get("outcome") and cleaned.get("status") not in ("", None, DONE):
            self.add_error(
                "outcome", "Only finished downlinks have an outcome: choose Any status or DONE."
            )
        return cleaned

    @property
    def downlink_id(self) -> UUID | None:
        """The downlink id pasted into the device field, to open that downlink: a UUID (also a
        device id format) on a list's first page. Only call on a valid form."""
        device = self.cleaned_data["device"]
        if self.cleaned_data["cursor"] or device_id_format(device) is not DeviceIdFormat.UUID:
            return None
        return UUID(device)

    @property
    def sort_column(self) -> str:
        return self.cleaned_data.get("sort", DEFAULT_SORT) if self.is_valid() else DEFAULT_SORT

    def search_filters(self) -> SearchFilters:
        """What to ask the API; only call on a valid form."""
        data = self.cleaned_data
        column = data["sort"]
        field = SORT_COLUMNS[self.kind][column.removeprefix("-")]
        sort = [SortField(field=field, descending=column.startswith("-"))]
        if field != "createdAt":
            sort.append(SortField(field="createdAt", descending=True))
        return SearchFilters(
            device_id=data["device"] or None,
            # The API cannot filter on an outcome, but only DONE downlinks have one.
            status=DONE if data["outcome"] else data["status"] or None,
            created_since=data["created_since"],
            created_before=data["created_before"],
            modified_since=data["modified_since"],
            modified_before=data["modified_before"],
            sort=sort,
            limit=data["limit"] or settings.THINGS_PAGE_SIZE,
            cursor=data["cursor"] or None,
        )
