"""The lists' filters, read from the URL, and the columns a list can be sorted by. The
statuses, failure reasons and device id formats to filter by are the API package's."""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.form_fields import DateTimeLocalField, require_later
from devices.models import Kind
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

# The list's columns: the name in our URL → the API's field the column shows, per kind.
COLUMN_FIELDS: dict[str, dict[str, str]] = {
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
# The columns a list can be sorted by: those of a top-level field of the downlink. Neither spec
# says which fields a search sorts by; a message's fields (payload, fPort, topic) are not offered,
# since an API that ignores such a key leaves the rows in created order under a header that
# claims otherwise.
SORT_COLUMNS: dict[str, dict[str, str]] = {
    kind: {column: field for column, field in fields.items() if "." not in field}
    for kind, fields in COLUMN_FIELDS.items()
}
DEFAULT_SORT = "-created"
DEFAULT_ORDER_IN_WORDS = "newest first"
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


class ListColumn(NamedTuple):
    name: str
    label: str
    sortable: bool


def list_columns(kind: str) -> list[ListColumn]:
    return [
        ListColumn(column, COLUMN_LABELS[column], column in SORT_COLUMNS[kind])
        for column in COLUMN_FIELDS[kind]
    ]


def unsortable_column(kind: str, value: str) -> str | None:
    """The column an old link's sort names (by our name or the API's field) that the list no
    longer sorts by, or None."""
    name = value.removeprefix("-")
    for column, field in COLUMN_FIELDS[kind].items():
        if name in (column, field) and column not in SORT_COLUMNS[kind]:
            return column
    return None


class SuggestingTextInput(forms.TextInput):
    """A text input that offers known values (a <datalist>) and takes any text."""

    def __init__(self, suggestions: tuple[str, ...], attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.suggestions = suggestions

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id') or name}_suggestions"
        html = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join(
            "", '<option value="{}"></option>', ((value,) for value in self.suggestions)
        )
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


def status_field(kind: str) -> forms.Field:
    """The LoRa spec makes the status filter an enum: exactly its values are offered. The MQTT
    spec leaves it an open string (no pattern, no length): the known statuses are suggested,
    and any other text is passed on to the API as it is."""
    if kind == Kind.LORA:
        return forms.ChoiceField(
            required=False,
            label="Status",
            choices=[("", "Any status"), *[(status, status) for status in STATUS_ORDER]],
        )
    return forms.CharField(
        required=False,
        label="Status",
        widget=SuggestingTextInput(
            STATUS_ORDER,
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "Any status"},
        ),
    )


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
    status = status_field(Kind.LORA)  # per kind: see __init__
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
        # An old link's sort by a column the list no longer sorts by (see clean_sort), and
        # whether its page link was dropped with it.
        self.unsorted_column: str | None = None
        self.dropped_cursor = False
        self.fields["status"] = status_field(kind)
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
        """A sort by a column the list once offered (an old link) is not refused but left out,
        and said so (`sort_note`); anything else that is not a sortable column is refused."""
        value: str = self.cleaned_data.get("sort") or DEFAULT_SORT
        if value.removeprefix("-") in SORT_COLUMNS[self.kind]:
            return value
        self.unsorted_column = unsortable_column(self.kind, value)
        if self.unsorted_column is not None:
            return DEFAULT_SORT
        raise ValidationError("Sort by one of the list's columns.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.unsorted_column is not None and cleaned.get("cursor"):
            # The page link continues the old order; this order starts from its first page.
            cleaned["cursor"] = ""
            self.dropped_cursor = True
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

    @property
    def sort_note(self) -> str:
        """Why the list is not in the order its URL asks for ("" when it is)."""
        if self.unsorted_column is None:
            return ""
        start = ", from the first page" if self.dropped_cursor else ""
        return (
            f"This list cannot be sorted by {COLUMN_LABELS[self.unsorted_column]}: it is a field "
            f"of the message, which the Things API may not sort by. Shown "
            f"{DEFAULT_ORDER_IN_WORDS}{start}."
        )

    def search_in_words(self) -> str:
        """What the search asks for, as a person would say it ("downlinks with status
        “QUEUED”, newest first"); only call on a valid form."""
        data = self.cleaned_data
        parts = []
        if data["device"]:
            parts.append(f"device id “{data['device']}”")
        if data["status"]:
            parts.append(f"status “{data['status']}”")
        if data["outcome"]:
            label = dict(self.fields["outcome"].choices)[data["outcome"]]  # type: ignore[attr-defined]
            parts.append(f"outcome “{label}”")
        for name in ("created_since", "created_before", "modified_since", "modified_before"):
            if data[name] is not None:
                parts.append(f"{str(self.fields[name].label).lower()} {self.data[name]}")
        column = data["sort"]
        if column == DEFAULT_SORT:
            order = DEFAULT_ORDER_IN_WORDS
        else:
            label = COLUMN_LABELS[column.removeprefix("-")]
            order = f"sorted by {label}" + (" (descending)" if column.startswith("-") else "")
        return f"downlinks{' with ' + ' and '.join(parts) if parts else ''}, {order}"

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
