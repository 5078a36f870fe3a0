"""Deploy checks of our own: production must not run on keys generated under var/."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def keys_from_environment(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if settings.SECRET_KEY_FROM_FILE:
        messages.append(
            Warning(
                "SECRET_KEY is not set in the environment; a key generated under var/ is used.",
                hint="Set SECRET_KEY in production, the same for every web process.",
                id="things_portal.W001",
            )
        )
    if settings.FIELD_ENCRYPTION_KEYS_FROM_FILE:
        messages.append(
            Warning(
                "FIELD_ENCRYPTION_KEYS is not set in the environment; a key generated under var/ "
                "encrypts the stored credentials.",
                hint="Set FIELD_ENCRYPTION_KEYS (Fernet keys, newest first) in production.",
                id="things_portal.W002",
            )
        )
    return messages


@register(Tags.security)
def field_encryption_keys_are_fernet_keys(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A malformed key is found at start-up, not when a credential is first used."""
    from cryptography.fernet import Fernet

    messages: list[CheckMessage] = []
    for position, key in enumerate(settings.FIELD_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            messages.append(
                Error(
                    f"Key {position} in FIELD_ENCRYPTION_KEYS is not a Fernet key.",
                    hint="Each key is 32 url-safe base64-encoded bytes; generate one with "
                    "Fernet.generate_key().",
                    id="things_portal.E001",
                )
            )
    if not settings.FIELD_ENCRYPTION_KEYS:
        messages.append(Error("FIELD_ENCRYPTION_KEYS is empty.", id="things_portal.E002"))
    return messages


# A page's deadline for the API plus this much (templates, database) must fit in the timeout.
WORKER_TIMEOUT_MARGIN_SECONDS = 5.0


@register(Tags.compatibility, deploy=True)
def api_deadline_inside_worker_timeout(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """The web server must never kill a worker that is still waiting on the API."""
    from things_portal import gunicorn_conf

    needed = settings.THINGS_PAGE_DEADLINE_SECONDS + WORKER_TIMEOUT_MARGIN_SECONDS
    if gunicorn_conf.timeout >= needed:
        return []
    return [
        Error(
            f"GUNICORN_TIMEOUT ({gunicorn_conf.timeout} s) leaves no room for "
            f"THINGS_PAGE_DEADLINE_SECONDS ({settings.THINGS_PAGE_DEADLINE_SECONDS:g} s): a "
            "request waiting on a slow Things API would be killed with a bare 500.",
            hint=f"Keep GUNICORN_TIMEOUT at least {needed:g} s, or lower the deadline.",
            id="things_portal.E010",
        )
    ]
