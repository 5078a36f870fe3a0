from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.forms import BoundField

from audit.models import Action
from core.filter_form import FilterForm
from core.form_fields import DateTimeLocalField, require_later
from teams.connections import outbound_policy
from teams.models import (
    LORA_PAYLOAD_LIMIT_DEFAULT,
    LORA_PAYLOAD_LIMIT_MAX,
    LORA_PAYLOAD_LIMIT_MIN,
    AuthKind,
    Membership,
    Role,
    Team,
    ThingsCredential,
)


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username of an existing user")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class DeviceFinderForm(forms.Form):
    """ "Find a downlink" on the team's page: a device id, looked up (and checked) by the list
    page of its kind, which the form is sent to."""

    device = forms.CharField(required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def __init__(self, *, kind_label: str, example: str) -> None:
        super().__init__(auto_id=f"find-{kind_label.lower()}-%s")
        self.fields["device"].label = f"{kind_label} device id"
        self.fields["device"].widget.attrs["placeholder"] = example


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    @classmethod
    def for_membership(cls, membership: Membership) -> "MemberRoleForm":
        """The role picker in the member's row: its own ids, and a label naming the member."""
        form = cls(initial={"role": membership.role}, auto_id=f"role-{membership.pk}-%s")
        form.fields["role"].label = f"Role of {membership.user.get_username()}"
        return form


def secret_field(label: str, *, keeps: str) -> forms.CharField:
    """A write-only secret: it starts empty, is never shown back, and left empty keeps
    `keeps`."""
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=f"Leave empty to keep {keeps}.",
    )


GRIP_FIELDS = ("tenant_id", "client_id", "client_secret", "token_url", "audience")
TOKEN_FIELDS = ("static_token",)


class CredentialForm(forms.Form):
    """The team's Things credential. Secrets are write-only: the fields start empty, and
    leaving one empty keeps the stored secret.

    Each kind of credential has its own fields (`FIELDS_OF_KIND`); the page shows only the
    chosen kind's (static js/depends-on.js, from `laid_out`), and the form ignores the other
    kind's, so what is stored is the same with or without JavaScript."""

    # What the form shows of a stored credential: all but its secret.
    STORED_FIELDS = ("api_url", "auth_kind", "tenant_id", "client_id", "token_url", "audience")
    FIELDS_OF_KIND: Mapping[str, tuple[str, ...]] = {
        AuthKind.CLIENT_CREDENTIALS: GRIP_FIELDS,
        AuthKind.STATIC_TOKEN: TOKEN_FIELDS,
    }

    api_url = forms.URLField(label="Things API URL", max_length=200)
    auth_kind = forms.ChoiceField(
        choices=AuthKind.choices, widget=forms.RadioSelect, label="How the portal signs in"
    )
    tenant_id = forms.CharField(label="GRIP tenant id", max_length=100, required=False)
    client_id = forms.CharField(
        label="Client id (the API key's id)", max_length=200, required=False
    )
    client_secret = secret_field("Client secret", keeps="the stored secret")
    token_url = forms.CharField(
        label="Token URL",
        max_length=300,
        required=False,
        help_text="GRIP's token endpoint; {tenant_id} is filled in.",
    )
    audience = forms.CharField(
        label="Audience (the KPN Things application id)", max_length=200, required=False
    )
    static_token = secret_field("Bearer token", keeps="the stored token")

    def __init__(
        self,
        *args: Any,
        credential: ThingsCredential | None = None,
        offer_save_anyway: bool = False,
        **kwargs: Any,
    ) -> None:
        self.credential = credential
        if credential is not None:
            kwargs.setdefault(
                "initial", {name: getattr(credential, name) for name in self.STORED_FIELDS}
            )
        else:
            kwargs.setdefault(
                "initial",
                {
                    "api_url": settings.THINGS_API_URL,
                    "auth_kind": AuthKind.CLIENT_CREDENTIALS,
                    "token_url": settings.THINGS_TOKEN_URL,
                    "audience": settings.THINGS_AUDIENCE,
                },
            )
        super().__init__(*args, **kwargs)
        # Offered once the connection test before saving has failed (e.g. the platform is
        # down), and read when it comes back ticked.
        if offer_save_anyway or (self.is_bound and self.data.get("save_anyway")):
            self.fields["save_anyway"] = forms.BooleanField(
                required=False,
                label="Save anyway, although the connection test failed",
            )

    def clean_api_url(self) -> str:
        return self._allowed(self.cleaned_data["api_url"])

    def clean_token_url(self) -> str:
        value: str = self.cleaned_data.get("token_url") or ""
        if value:
            self._allowed(value.replace("{tenant_id}", "x"))
        return value

    @staticmethod
    def _allowed(url: str) -> str:
        refusal = outbound_policy().refusal(url)
        if refusal is not None:
            raise forms.ValidationError(refusal)
        return url

    @property
    def save_anyway(self) -> bool:
        return bool(self.cleaned_data.get("save_anyway"))

    def laid_out(self) -> list[tuple[BoundField, str]]:
        """Each field, with the choice it applies to ("auth_kind=static_token"; "" for every
        choice), for the page's `data-shown-when`."""
        kind_of = {name: kind for kind, names in self.FIELDS_OF_KIND.items() for name in names}
        return [
            (field, f"auth_kind={kind_of[field.name]}" if field.name in kind_of else "")
            for field in self
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("auth_kind")
        # The other kind's fields do not apply: whatever was posted in them is dropped.
        for other, names in self.FIELDS_OF_KIND.items():
            if kind in AuthKind.values and other != kind:
                for name in names:
                    self.errors.pop(name, None)
                    cleaned[name] = ""
        has_stored_secret = (
            self.credential is not None
            and self.credential.auth_kind == kind
            and bool(self.credential.secret_ciphertext)
        )
        if kind == AuthKind.CLIENT_CREDENTIALS:
            for name in ("tenant_id", "client_id", "token_url", "audience"):
                if not cleaned.get(name):
                    self.add_error(name, "Needed for GRIP client credentials.")
            if not cleaned.get("client_secret") and not has_stored_secret:
                self.add_error("client_secret", "Enter the client secret.")
        elif (
            kind == AuthKind.STATIC_TOKEN
            and not cleaned.get("static_token")
            and not has_stored_secret
        ):
            self.add_error("static_token", "Enter the bearer token.")
        secret_field = "client_secret" if kind == AuthKind.CLIENT_CREDENTIALS else "static_token"
        if (
            has_stored_secret
            and self.credential is not None
            and kind in AuthKind.values
            and not cleaned.get(secret_field)
            and secret_field not in self.errors
        ):
            moved = self.credential.moves_the_secret(
                auth_kind=str(kind),
                api_url=cleaned.get("api_url", ""),
                tenant_id=cleaned.get("tenant_id", ""),
                client_id=cleaned.get("client_id", ""),
                token_url=cleaned.get("token_url", ""),
                audience=cleaned.get("audience", ""),
            )
            if moved:
                changed = ", ".join(str(self.fields[name].label) for name in moved)
                self.add_error(
                    secret_field,
                    f"You changed {changed}: enter the {self.credential.secret_label} again. "
                    "The stored one is only ever sent where it was entered for.",
                )
        return cleaned

    def secret(self) -> str | None:
        """The newly entered secret for the chosen kind, or None to keep the stored one."""
        name = (
            "client_secret"
            if self.cleaned_data["auth_kind"] == AuthKind.CLIENT_CREDENTIALS
            else "static_token"
        )
        value: str = self.cleaned_data.get(name) or ""
        return value or None


class LoraPayloadLimitForm(forms.Form):
    """The team's LoRa payload limit, a form of its own on the credential page (its fields
    carry the prefix "limit", which tells its POST apart from the credential form's)."""

    prefix = "limit"

    lora_payload_limit = forms.IntegerField(
        label="LoRa payload limit (bytes)",
        min_value=LORA_PAYLOAD_LIMIT_MIN,
        max_value=LORA_PAYLOAD_LIMIT_MAX,
        widget=forms.NumberInput(
            attrs={"min": LORA_PAYLOAD_LIMIT_MIN, "max": LORA_PAYLOAD_LIMIT_MAX}
        ),
        help_text=(
            f"The LoRa send form refuses a longer payload. KPN's network takes "
            f"{LORA_PAYLOAD_LIMIT_DEFAULT} bytes at every data rate (the default); LoRaWAN "
            f"carries at most {LORA_PAYLOAD_LIMIT_MAX}, at its fastest data rate."
        ),
        error_messages={
            "min_value": f"The limit must be at least {LORA_PAYLOAD_LIMIT_MIN} byte.",
            "max_value": f"The limit can be at most {LORA_PAYLOAD_LIMIT_MAX} bytes: LoRaWAN "
            "carries no more.",
        },
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"lora_payload_limit": team.lora_payload_limit})
        super().__init__(*args, **kwargs)

    @classmethod
    def is_posted(cls, data: Mapping[str, Any]) -> bool:
        """Whether a POST to the credential page is this form's."""
        return f"{cls.prefix}-lora_payload_limit" in data


class AuditFilterForm(FilterForm):
    person = forms.CharField(required=False, max_length=150, label="Person")
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *Action.choices], label="Action"
    )
    device_id = forms.CharField(required=False, max_length=100, label="Device id")
    since = DateTimeLocalField(required=False, label="From")
    before = DateTimeLocalField(required=False, label="Until")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        require_later(self, cleaned, "since", "before", "“Until” must be after “From”.")
        return cleaned
