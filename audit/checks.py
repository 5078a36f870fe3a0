"""Checks of the audit chain's keys: a deployment must not sign its trail with a key
generated under var/, and no key may be too short to be a secret."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from audit.keys import KEY_MIN_LENGTH, configured_keys


@register(Tags.security, deploy=True)
def chain_keys_from_environment(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "AUDIT_CHAIN_KEYS_FROM_FILE", False):
        return []
    return [
        Warning(
            "AUDIT_CHAIN_KEYS is not set in the environment; a key generated under var/ signs "
            "the audit trail, next to the database it protects.",
            hint="Set AUDIT_CHAIN_KEYS (secrets of at least 32 characters, newest first) in "
            "production, the same for every process, and keep it out of the database's backups.",
            id="audit.W001",
        )
    ]


@register(Tags.security)
def chain_keys_are_secrets(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    values: list[str] = getattr(settings, "AUDIT_CHAIN_KEYS", [])
    messages: list[CheckMessage] = [
        Error(
            f"Key {position} in AUDIT_CHAIN_KEYS is shorter than {KEY_MIN_LENGTH} characters.",
            hint='Generate one with python -c "import secrets; print(secrets.token_urlsafe(32))".',
            id="audit.E001",
        )
        for position, value in enumerate(values, start=1)
        if len(value) < KEY_MIN_LENGTH
    ]
    ids = [key.id for key in configured_keys()]
    if len(set(ids)) != len(ids):
        messages.append(Error("AUDIT_CHAIN_KEYS lists a key twice.", id="audit.E002"))
    return messages
