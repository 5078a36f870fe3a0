"""Form pieces shared by the portal's filter forms (the downlink lists and the audit trail)."""

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy

# The years a filter date may fall in. Nothing on the Things platform or in the audit trail is
# older than the Unix epoch, and stopping a year short of datetime.max (9999-12-31) means that
# no time-zone shift, to UTC for the database or to the ISO 8601 the API gets, can overflow.
EARLIEST_YEAR = 1970
LATEST_YEAR = 9998


def _zone_words() -> str:
    return f"In your time zone, {timezone.get_current_timezone_name()}."


# Lazy: the form is declared once, the zone is the request's.
_in_your_time_zone = lazy(_zone_words, str)


class DateTimeLocalField(forms.DateTimeField):
    """A date and time picked with the browser's own control (`type="datetime-local"`).

    A date outside EARLIEST_YEAR..LATEST_YEAR is refused on the field, in words: Python's
    datetime cannot move year 1 or 9999 across time zones (OverflowError), so such a date
    would otherwise crash the page when it is converted to UTC.
    """

    widget = forms.DateTimeInput(
        attrs={
            "type": "datetime-local",
            "min": f"{EARLIEST_YEAR}-01-01T00:00",
            "max": f"{LATEST_YEAR}-12-31T23:59",
        }
    )
    default_error_messages = {
        "out_of_range": f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        # Which zone the time typed is read in: the person's (activated per request).
        kwargs.setdefault("help_text", _in_your_time_zone())
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:
        """The aware datetime typed in, or a ValidationError when it is out of range."""
        result: datetime | None = super().to_python(value)
        if result is None:
            return None
        if not EARLIEST_YEAR <= result.year <= LATEST_YEAR:
            raise ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return result


def require_later(
    form: forms.Form, cleaned: dict[str, Any], since: str, before: str, message: str
) -> None:
    """Put `message` on `before` when it is not later than `since` (both given)."""
    if cleaned.get(since) and cleaned.get(before) and cleaned[since] >= cleaned[before]:
        form.add_error(before, message)
