"""Changes to teams, memberships and credentials. Each writes its audit entry in the same
transaction, so a change that rolls back leaves no entry behind."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from audit.models import Action, Outcome
from audit.trail import Origin, TeamRef, record
from teams import connections, crypto
from teams.models import (
    LORA_PAYLOAD_LIMIT_MAX,
    LORA_PAYLOAD_LIMIT_MIN,
    AuthKind,
    Membership,
    Role,
    Team,
    ThingsCredential,
)


class TeamRuleError(Exception):
    """A change the rules do not allow; the message says why, in words."""


def team_ref(team: Team) -> TeamRef:
    return TeamRef(team.pk, team.slug)


def record_user_change(
    action: Action,
    username: str,
    *,
    origin: Origin,
    asked: dict[str, Any],
    summary: str,
    team: TeamRef | None = None,
) -> None:
    """The entry for a change made to the user `username`: to their account (Django's admin,
    accounts.admin_audit) or, with `team`, to their membership of it, in that team's trail."""
    record(
        action,
        origin=origin,
        outcome=Outcome.OK,
        target_kind="user",
        target_id=username,
        asked=asked,
        summary=summary,
        team=team,
    )


def team_create(*, slug: str, name: str, origin: Origin) -> Team:
    with transaction.atomic():
        if Team.objects.filter(slug=slug).exists():
            raise TeamRuleError(f"A team with the short name {slug!r} exists already.")
        team = Team.objects.create(slug=slug, name=name)
        record(
            Action.TEAM_CREATED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="team",
            target_id=slug,
            asked={"name": name},
            team=team_ref(team),
        )
    return team


def member_add(*, team: Team, username: str, role: Role, origin: Origin) -> Membership:
    user_model = get_user_model()
    with transaction.atomic():
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise TeamRuleError(f"There is no user called {username!r}.") from None
        if Membership.objects.filter(team=team, user=user).exists():
            raise TeamRuleError(f"{username} is a member of {team.name} already.")
        membership = Membership.objects.create(team=team, user=user, role=role)
        record_user_change(
            Action.MEMBER_ADDED,
            username,
            origin=origin,
            asked={"role": role.value},
            summary=f"Added {username} as {role.label.lower()}",
            team=team_ref(team),
        )
    return membership


def _other_admins(membership: Membership) -> bool:
    return (
        Membership.objects.select_for_update()
        .filter(team=membership.team, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def member_change_role(*, membership: Membership, role: Role, origin: Origin) -> Membership:
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("team", "user")
            .get(pk=membership.pk)
        )
        previous = Role(membership.role)
        if previous == role:
            return membership
        if previous == Role.ADMIN and not _other_admins(membership):
            raise TeamRuleError(
                "This is the team's last admin. Make someone else admin first, or nobody "
                "could manage the team's members and credential."
            )
        membership.role = role
        membership.save(update_fields=["role"])
        username = membership.user.get_username()
        record_user_change(
            Action.MEMBER_ROLE_CHANGED,
            username,
            origin=origin,
            asked={"from": previous.value, "to": role.value},
            summary=f"{username}: {previous.label.lower()} → {role.label.lower()}",
            team=team_ref(membership.team),
        )
    return membership


def member_remove(*, membership: Membership, origin: Origin) -> None:
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("team", "user")
            .get(pk=membership.pk)
        )
        if membership.role == Role.ADMIN and not _other_admins(membership):
            raise TeamRuleError(
                "This is the team's last admin and cannot be removed. Make someone else "
                "admin first."
            )
        username = membership.user.get_username()
        team = membership.team
        membership.delete()
        record_user_change(
            Action.MEMBER_REMOVED,
            username,
            origin=origin,
            asked={"role": membership.role},
            summary=f"Removed {username}",
            team=team_ref(team),
        )


def lora_payload_limit_set(*, team: Team, limit: int, origin: Origin) -> Team:
    """Set how many bytes the team's LoRa payloads may have; audited when it changes."""
    if not LORA_PAYLOAD_LIMIT_MIN <= limit <= LORA_PAYLOAD_LIMIT_MAX:
        raise TeamRuleError(
            f"The LoRa payload limit must be between {LORA_PAYLOAD_LIMIT_MIN} and "
            f"{LORA_PAYLOAD_LIMIT_MAX} bytes (LoRaWAN carries at most {LORA_PAYLOAD_LIMIT_MAX})."
        )
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        previous = team.lora_payload_limit
        if previous == limit:
            return team
        team.lora_payload_limit = limit
        team.save(update_fields=["lora_payload_limit"])
        record(
            Action.LORA_PAYLOAD_LIMIT_CHANGED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="team",
            target_id=team.slug,
            asked={"from": previous, "to": limit},
            summary=f"LoRa payload limit: {previous} → {limit} bytes",
            team=team_ref(team),
        )
    return team


def templates_only_set(*, team: Team, templates_only: bool, origin: Origin) -> Team:
    """Whether the team's operators send from templates only; audited when it changes."""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if team.templates_only == templates_only:
            return team
        team.templates_only = templates_only
        team.save(update_fields=["templates_only"])
        record(
            Action.TEMPLATES_ONLY_CHANGED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="team",
            target_id=team.slug,
            asked={"templates_only": templates_only},
            summary="Operators send from templates only"
            if templates_only
            else "Operators may send raw downlinks",
            team=team_ref(team),
        )
    return team


@dataclass(frozen=True)
class CredentialInput:
    """What an admin enters for a credential; `secret` None keeps the stored one."""

    api_url: str
    auth_kind: AuthKind
    tenant_id: str = ""
    client_id: str = ""
    token_url: str = ""
    audience: str = ""
    secret: str | None = None

    def endpoints(self) -> dict[str, str]:
        """Where, and as whom, the secret would be sent."""
        return {
            "auth_kind": self.auth_kind.value,
            "api_url": self.api_url,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "token_url": self.token_url,
            "audience": self.audience,
        }


def require_allowed_urls(data: CredentialInput) -> None:
    """The API and token URLs must point where the portal may call (THINGS_ALLOWED_HOSTS)."""
    policy = connections.outbound_policy()
    urls = [("API URL", data.api_url)]
    if data.auth_kind == AuthKind.CLIENT_CREDENTIALS:
        urls.append(("token URL", data.token_url.replace("{tenant_id}", data.tenant_id or "x")))
    for name, url in urls:
        refusal = policy.refusal(url)
        if refusal is not None:
            raise TeamRuleError(f"The {name}: {refusal}")


def require_secret_where_needed(stored: ThingsCredential | None, data: CredentialInput) -> None:
    """A stored secret may be kept only where it was entered for (see moves_the_secret)."""
    if data.secret is not None:
        return
    wanted = "client secret" if data.auth_kind == AuthKind.CLIENT_CREDENTIALS else "token"
    if stored is None or stored.auth_kind != data.auth_kind:
        raise TeamRuleError(
            f"Enter the {wanted}: there is no stored one for this kind of credential."
        )
    if stored.moves_the_secret(**data.endpoints()):
        raise TeamRuleError(
            f"Enter the {wanted} again: the stored one is only ever sent where it was entered for."
        )


@dataclass(frozen=True)
class CredentialSave:
    """What became of a save: `saved` the stored credential (None: not saved, because the
    connection test before it failed and the admin did not say "save anyway")."""

    saved: ThingsCredential | None
    check: connections.ConnectionCheck


def credential_save(
    *, team: Team, data: CredentialInput, origin: Origin, save_anyway: bool = False
) -> CredentialSave:
    """Try the entered values against the API first, then store them; a failing test keeps
    the old credential unless `save_anyway` (a platform that is down must not block an admin).
    The stored secret is used for the test only where it may go (else TeamRuleError)."""
    stored = ThingsCredential.objects.filter(team=team).first()
    require_allowed_urls(data)
    require_secret_where_needed(stored, data)
    # team_id, not team: a team=team would make the unsaved candidate the team's loaded
    # credential (Django caches the other side of a one-to-one), for the rest of the request.
    candidate = ThingsCredential(team_id=team.pk, **data.endpoints())
    if data.secret is not None:
        candidate.set_secret(data.secret)
    elif stored is not None:
        candidate.secret_ciphertext = stored.secret_ciphertext
    check = connections.candidate_test(team=team, candidate=candidate, origin=origin)
    if not check.ok and not save_anyway:
        return CredentialSave(None, check)
    return CredentialSave(credential_update(team=team, data=data, origin=origin), check)


def credential_update(*, team: Team, data: CredentialInput, origin: Origin) -> ThingsCredential:
    with transaction.atomic():
        credential = ThingsCredential.objects.select_for_update().filter(team=team).first()
        created = credential is None
        if credential is None:
            credential = ThingsCredential(team_id=team.pk)
        require_allowed_urls(data)
        require_secret_where_needed(None if created else credential, data)
        credential.api_url = data.api_url
        credential.auth_kind = data.auth_kind
        credential.tenant_id = data.tenant_id
        credential.client_id = data.client_id
        credential.token_url = data.token_url
        credential.audience = data.audience
        if data.secret is not None:
            credential.set_secret(data.secret)
        credential.version = 1 if created else credential.version + 1
        credential.updated_by_label = origin.actor_label
        credential.save()
        record(
            Action.CREDENTIAL_CHANGED,
            origin=origin,
            outcome=Outcome.OK,
            target_kind="credential",
            target_id=team.slug,
            asked={
                "apiUrl": data.api_url,
                "authKind": data.auth_kind.value,
                "tenantId": data.tenant_id,
                "clientId": data.client_id,
                "tokenUrl": data.token_url,
                "audience": data.audience,
                "secretChanged": data.secret is not None,
            },
            summary="Created the credential" if created else "Changed the credential",
            team=team_ref(team),
        )
    # Committed: what this request's team_client(team) uses from now on (teams.connections).
    Team.credential.related.set_cached_value(team, credential)
    return credential


def encryption_keys_rotate(*, origin: Origin) -> int:
    """Re-encrypt every stored secret with the newest key; returns how many were."""
    with transaction.atomic():
        credentials = list(
            ThingsCredential.objects.select_for_update().exclude(secret_ciphertext="")
        )
        for credential in credentials:
            credential.secret_ciphertext = crypto.reencrypt(credential.secret_ciphertext)
            credential.save(update_fields=["secret_ciphertext"])
        record(
            Action.ENCRYPTION_KEYS_ROTATED,
            origin=origin,
            outcome=Outcome.OK,
            summary=f"Re-encrypted {len(credentials)} secret(s) with the newest key",
        )
    return len(credentials)
