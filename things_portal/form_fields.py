"""Form pieces shared by the portal's filter forms (the downlink lists and the audit trail)."""

from typing import Any

from django import forms


class DateTimeLocalField(forms.DateTimeField):
    """A date and time picked with the browser's own control (`type="datetime-local"`)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})


def require_later(
    form: forms.Form, cleaned: dict[str, Any], since: str, before: str, message: str
) -> None:
    """Put `message` on `before` when it is not later than `since` (both given)."""
    if cleaned.get(since) and cleaned.get(before) and cleaned[since] >= cleaned[before]:
        form.add_error(before, message)
