"""What a change to a user in Django's admin writes to the audit trail.

The admin is where people are made staff or superuser, get permissions, have a password set
by someone else, are switched off or deleted (and with them their memberships). The portal's
own pages and commands audit through their services; the admin's changes are recorded here,
called from the admin's hooks (accounts/admin.py) inside the admin's transaction, so a change
and its entry are committed together or not at all. Not from model signals: those fire for the
services too, which already record what they do, and would write every change twice.

An entry says who (the request's user), which user, and what changed:

- the account's flags (is_active, is_staff, is_superuser) and its username, old → new;
- permissions (and groups, were the admin to offer them), as the ones added and removed;
- any other field by name only. The trail is append-only: a name or an email address written
  into it could never be erased again, and that it changed is what an auditor needs.

Never a password, nor its hash: a password change is recorded as set, and whether password
sign-in remains possible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db.models import Model

from audit.models import Action
from audit.trail import Origin, TeamRef
from teams.models import Membership
from teams.services import record_user_change, team_ref

FLAG_FIELDS = ("is_active", "is_staff", "is_superuser")
# Recorded old → new; every other plain field by name only.
VALUE_FIELDS = ("username", *FLAG_FIELDS)
MANY_FIELDS = ("user_permissions", "groups")
# Names of the creation and password forms' fields, which hold passwords and are never copied.
PASSWORD_FIELDS = ("password", "password1", "password2", "usable_password")


def _pks(values: Iterable[Any] | None) -> list[Any]:
    return [value.pk if isinstance(value, Model) else value for value in values or ()]


def _labels(field: str, values: Iterable[Any] | None) -> set[str]:
    """Permissions as `app_label.codename` (what has_perm takes), groups by name."""
    pks = _pks(values)
    if not pks:
        return set()
    if field == "user_permissions":
        permissions = Permission.objects.filter(pk__in=pks).select_related("content_type")
        return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
    return {group.name for group in Group.objects.filter(pk__in=pks)}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def form_changes(form: forms.ModelForm[Any]) -> dict[str, Any]:
    """What the admin's form changed, as the entry keeps it: `fields`, the names of all changed
    fields, and for each value field {"from", "to"}, for each many field {"added", "removed"}."""
    changes: dict[str, Any] = {"fields": []}
    for name in form.changed_data:
        if name in PASSWORD_FIELDS:
            continue
        changes["fields"].append(name)
        if name in VALUE_FIELDS:
            changes[name] = {"from": form.initial.get(name), "to": form.cleaned_data.get(name)}
        elif name in MANY_FIELDS:
            before = _labels(name, form.initial.get(name))
            after = _labels(name, form.cleaned_data.get(name))
            changes[name] = {"added": sorted(after - before), "removed": sorted(before - after)}
    return changes


def changes_summary(changes: dict[str, Any]) -> str:
    """One line for the audit page: `is_superuser: no → yes; user_permissions: +auth.add_user;
    also changed email`."""
    parts: list[str] = []
    others: list[str] = []
    for name in changes["fields"]:
        detail = changes.get(name)
        if isinstance(detail, dict) and "from" in detail:
            parts.append(f"{name}: {_shown(detail['from'])} → {_shown(detail['to'])}")
        elif isinstance(detail, dict):
            signed = [f"+{label}" for label in detail["added"]]
            signed += [f"-{label}" for label in detail["removed"]]
            parts.append(f"{name}: {', '.join(signed)}")
        else:
            others.append(name)
    if others:
        parts.append(f"{'also ' if parts else ''}changed {', '.join(others)}")
    return "; ".join(parts)


def _flags(user: AbstractBaseUser) -> dict[str, bool]:
    return {name: bool(getattr(user, name, False)) for name in FLAG_FIELDS}


def user_created(*, user: AbstractBaseUser, origin: Origin) -> None:
    username = user.get_username()
    usable = user.has_usable_password()
    record_user_change(
        Action.USER_CREATED,
        username,
        origin=origin,
        asked={**_flags(user), "usablePassword": usable},
        summary=f"Created {username}" + ("" if usable else " without password sign-in"),
    )


def user_changed(*, user: AbstractBaseUser, form: forms.ModelForm[Any], origin: Origin) -> None:
    """The entry for a save of the change form; none when the save changed nothing."""
    changes = form_changes(form)
    if not changes["fields"]:
        return
    record_user_change(
        Action.USER_CHANGED,
        user.get_username(),
        origin=origin,
        asked=changes,
        summary=changes_summary(changes),
    )


def user_password_set(*, user: AbstractBaseUser, origin: Origin) -> None:
    username = user.get_username()
    usable = user.has_usable_password()
    record_user_change(
        Action.USER_PASSWORD_SET,
        username,
        origin=origin,
        asked={"usablePassword": usable},
        summary=(
            f"Set a new password for {username}"
            if usable
            else f"Disabled password sign-in for {username}"
        ),
    )


@dataclass(frozen=True)
class DeletedUser:
    """What the trail keeps of a user about to be deleted: taken before the delete, which
    cascades to the memberships, and recorded after it (user_deleted)."""

    username: str
    flags: dict[str, bool]
    memberships: list[tuple[TeamRef, str]]  # each team, and the role the user had in it

    @classmethod
    def before_delete(cls, user: AbstractBaseUser) -> DeletedUser:
        memberships = Membership.objects.filter(user_id=user.pk).select_related("team")
        return cls(
            username=user.get_username(),
            flags=_flags(user),
            memberships=[(team_ref(m.team), m.role) for m in memberships.order_by("team__slug")],
        )


def user_deleted(*, deleted: DeletedUser, origin: Origin) -> None:
    """One entry for the user, and one per membership the deletion removed, in that team's
    trail, where the team's admins look."""
    username = deleted.username
    count = len(deleted.memberships)
    record_user_change(
        Action.USER_DELETED,
        username,
        origin=origin,
        asked={
            **deleted.flags,
            "memberships": [
                {"team": team.label, "role": role} for team, role in deleted.memberships
            ],
        },
        summary=f"Deleted {username}" + (f", a member of {count} team(s)" if count else ""),
    )
    for team, role in deleted.memberships:
        record_user_change(
            Action.MEMBER_REMOVED,
            username,
            origin=origin,
            asked={"role": role, "userDeleted": True},
            summary=f"Removed {username}: the user was deleted in Django's admin",
            team=team,
        )
