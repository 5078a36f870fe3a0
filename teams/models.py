"""Teams, their members' roles, and each team's Things API credential."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from teams import crypto


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


ROLE_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}

# How many bytes a team's LoRa payloads may have. LoRaWAN carries at most 242 at its fastest
# data rate; KPN's network takes 51 at every data rate, so 51 is safe wherever a device is.
LORA_PAYLOAD_LIMIT_DEFAULT = 51
LORA_PAYLOAD_LIMIT_MIN = 1
LORA_PAYLOAD_LIMIT_MAX = 242


CAMPAIGN_RATE_DEFAULT = 5


class Team(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )
    lora_payload_limit = models.PositiveSmallIntegerField(
        "LoRa payload limit",
        default=LORA_PAYLOAD_LIMIT_DEFAULT,
        validators=[
            MinValueValidator(LORA_PAYLOAD_LIMIT_MIN),
            MaxValueValidator(LORA_PAYLOAD_LIMIT_MAX),
        ],
        help_text="The most bytes a LoRa payload sent from the portal may have.",
    )
    # Operators send from templates only (admins may still send raw); enforced by the views.
    templates_only = models.BooleanField(
        "operators send from templates only",
        default=False,
        help_text="Operators then send only what a template makes; admins may still send raw.",
    )

    # Campaign creates per second (campaigns.pace); the portal's CAMPAIGN_MAX_RATE caps it.
    campaign_rate = models.PositiveSmallIntegerField(
        "campaign rate",
        default=CAMPAIGN_RATE_DEFAULT,
        validators=[MinValueValidator(1)],
        help_text="Downlinks per second a campaign creates (at most the portal's maximum).",
    )
    # A second person (operator or admin, not the one who made it) approves a campaign of more
    # devices than this (None: none needs it), and every campaign of a raw message if set.
    campaign_approval_above = models.PositiveIntegerField(
        "campaign approval above", null=True, blank=True
    )
    campaign_approval_raw = models.BooleanField("raw campaigns need approval", default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    lora_payload_limit__gte=LORA_PAYLOAD_LIMIT_MIN,
                    lora_payload_limit__lte=LORA_PAYLOAD_LIMIT_MAX,
                ),
                name="lora_payload_limit_in_range",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def admin_usernames(self) -> list[str]:
        """Who can change the team's members and credential (for "ask …" in messages)."""
        return sorted(
            self.memberships.filter(role=Role.ADMIN).values_list("user__username", flat=True)
        )


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")
        ]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"

    def allows(self, role: Role) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[role]


class AuthKind(models.TextChoices):
    CLIENT_CREDENTIALS = "client_credentials", "GRIP client credentials"
    STATIC_TOKEN = "static_token", "Static bearer token"


SECRET_BOUND_FIELDS: dict[AuthKind, tuple[str, ...]] = {
    AuthKind.STATIC_TOKEN: ("api_url",),
    AuthKind.CLIENT_CREDENTIALS: ("api_url", "tenant_id", "client_id", "token_url", "audience"),
}


class ThingsCredential(models.Model):
    """How a team reaches the Things API. Secrets are stored encrypted (see teams.crypto) and
    shown only as their last four characters."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="credential")
    api_url = models.URLField(max_length=200)
    auth_kind = models.CharField(max_length=20, choices=AuthKind.choices)
    tenant_id = models.CharField(max_length=100, blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    token_url = models.CharField(max_length=300, blank=True)
    audience = models.CharField(max_length=200, blank=True)
    secret_ciphertext = models.TextField(blank=True)
    secret_hint = models.CharField(max_length=4, blank=True)
    # Bumped on every change, so a cached API client built from the old values is dropped.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by_label = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return f"credential of {self.team}"

    @property
    def secret_label(self) -> str:
        return "client secret" if self.auth_kind == AuthKind.CLIENT_CREDENTIALS else "token"

    def moves_the_secret(
        self,
        *,
        auth_kind: str,
        api_url: str,
        tenant_id: str = "",
        client_id: str = "",
        token_url: str = "",
        audience: str = "",
    ) -> list[str]:
        """What in these values would send the STORED secret somewhere it was not entered
        for (a new endpoint, or another identity at the same one); empty if nothing would.

        The stored secret may only be kept when none of them changes: otherwise an admin
        could point the token URL at a listener, keep the secret, and read it there."""
        if auth_kind != self.auth_kind:
            return ["auth_kind"]
        values = {
            "api_url": api_url,
            "tenant_id": tenant_id,
            "client_id": client_id,
            "token_url": token_url,
            "audience": audience,
        }
        # A static token goes only to the API; a client secret to the token endpoint, for an
        # identity, and what it buys (an access token) to the API.
        bound = SECRET_BOUND_FIELDS[AuthKind(auth_kind)]
        return [name for name in bound if values[name] != getattr(self, name)]

    def set_secret(self, plaintext: str) -> None:
        self.secret_ciphertext = crypto.encrypt(plaintext)
        self.secret_hint = plaintext[-4:] if len(plaintext) >= 12 else ""

    def secret(self) -> str:
        return crypto.decrypt(self.secret_ciphertext)

    @property
    def masked_secret(self) -> str:
        if not self.secret_ciphertext:
            return "not set"
        return f"••••••••{self.secret_hint}" if self.secret_hint else "••••••••"
