"""The cancel confirmation: whether to force it."""

from django import forms


class CancelForm(forms.Form):
    forced = forms.BooleanField(
        required=False,
        label="Force the cancellation",
        help_text=(
            "A normal cancel is refused once the platform is delivering the downlink. A forced "
            "cancel aborts it even then; the device may already have received it."
        ),
    )
