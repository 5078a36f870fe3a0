"""Password reset requests (rate-limited and audited) and ending a person's sessions.

The reset request is answered with the same page whatever happens here: whether the address
belongs to an account, and whether a limit was reached, is told only to the audit trail.
"""

import logging
import time
import unicodedata
from enum import StrEnum
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import BaseCache, caches
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import Preferences
from audit.models import Action, Outcome
from audit.trail import Origin, record

logger = logging.getLogger(__name__)

# Defaults until the settings module names them (see the README's Security section).
DEFAULT_LIMIT_PER_EMAIL = 5
DEFAULT_LIMIT_PER_IP = 20
DEFAULT_LIMIT_WINDOW_SECONDS = 3600
DEFAULT_LIMIT_CACHE = "default"


class Limit(StrEnum):
    """Which count a reset request went over."""

    EMAIL = "email"
    IP = "ip"


def _limit_settings() -> tuple[int, int, int, BaseCache]:
    return (
        int(getattr(settings, "PASSWORD_RESET_LIMIT_PER_EMAIL", DEFAULT_LIMIT_PER_EMAIL)),
        int(getattr(settings, "PASSWORD_RESET_LIMIT_PER_IP", DEFAULT_LIMIT_PER_IP)),
        int(getattr(settings, "PASSWORD_RESET_LIMIT_WINDOW_SECONDS", DEFAULT_LIMIT_WINDOW_SECONDS)),
        caches[getattr(settings, "PASSWORD_RESET_LIMIT_CACHE", DEFAULT_LIMIT_CACHE)],
    )


def _count(cache: BaseCache, name: str, *, window: int, now: float) -> int:
    """One more request in the current fixed window of `window` seconds; the count so far."""
    key = f"password-reset:{name}:{int(now // window)}"
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add() and incr()
        cache.set(key, 1, timeout=window)
        return 1


def email_key(email: str) -> str:
    """The address as a keyed hash, so the cache holds no addresses; compared the way Django
    matches an address to an account (Unicode-normalised, case-folded)."""
    normal = unicodedata.normalize("NFKC", email.strip()).casefold()
    return salted_hmac("accounts.password_reset.email", normal, algorithm="sha256").hexdigest()


def password_reset_limit(
    *, email: str, ip_address: str | None, now: float | None = None
) -> Limit | None:
    """Counts this request for the address asked for and for the client's IP, and says which
    limit it is over, if any. Every request counts, so an address nobody has uses up the
    client's allowance as a real one does."""
    per_email, per_ip, window, cache = _limit_settings()
    moment = time.time() if now is None else now
    email_count = _count(cache, f"email:{email_key(email)}", window=window, now=moment)
    ip_count = _count(cache, f"ip:{ip_address or 'unknown'}", window=window, now=moment)
    if email_count > per_email:
        return Limit.EMAIL
    if ip_count > per_ip:
        return Limit.IP
    return None


def duration_words(seconds: int) -> str:
    """`seconds` as people say it: "90 minutes", "1 hour", "3 days" (whole units only)."""
    minutes = max(1, seconds // 60)
    if minutes % (24 * 60) == 0:
        amount, unit = minutes // (24 * 60), "day"
    elif minutes % 60 == 0:
        amount, unit = minutes // 60, "hour"
    else:
        amount, unit = minutes, "minute"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def reset_link_lifetime() -> str:
    """How long a reset link works, in words, for the email and the page after asking."""
    return duration_words(int(settings.PASSWORD_RESET_TIMEOUT))


def password_reset_request(*, form: PasswordResetForm, origin: Origin) -> bool:
    """Whether the link may be emailed to the accounts with the address in `form` (Django's
    form then sends it); audited either way, one entry per account concerned, or one without
    an account.

    The trail is permanent, so an entry keeps only what an investigation needs: the client's
    IP and browser, and the username of each account the address belongs to. An address that
    belongs to no account is not kept, not even hashed: it is whatever a stranger typed (often
    someone else's address), and the IP already tells who keeps trying.
    """
    email = form.cleaned_data["email"]
    usernames = [user.get_username() for user in form.get_users(email)]
    over = password_reset_limit(email=email, ip_address=origin.ip_address)
    per_email, per_ip, window, _ = _limit_settings()
    if over is Limit.EMAIL:
        outcome = Outcome.REFUSED
        summary = (
            f"Over the limit of {per_email} requests in {duration_words(window)} for this "
            "email address: no email sent"
        )
    elif over is Limit.IP:
        outcome = Outcome.REFUSED
        summary = (
            f"Over the limit of {per_ip} requests in {duration_words(window)} from this IP "
            "address: no email sent"
        )
    elif usernames:
        outcome, summary = Outcome.OK, "Emailed a reset link"
    else:
        outcome = Outcome.NOT_SENT
        summary = "No account that can reset its password has this email address: no email sent"
    if origin.actor_label:
        summary += f" (asked while signed in as {origin.actor_label})"
    with transaction.atomic():
        # Like a failed sign-in: the entry carries the account it is about, and no actor id,
        # since asking proves nothing about who asked.
        for username in usernames or [""]:
            record(
                Action.PASSWORD_RESET_REQUESTED,
                origin=Origin(None, username, origin.ip_address, origin.user_agent),
                outcome=outcome,
                target_kind="user" if username else "",
                target_id=username,
                summary=summary,
            )
    return over is None and bool(usernames)


def _session_store() -> type[SessionBase] | None:
    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    return store if hasattr(store, "get_model_class") else None


def user_sessions_end(*, username: str) -> int:
    """End every session signed in as `username`; how many were ended.

    Sessions are found by reading each unexpired one in the database (the db and cached_db
    session engines): cheap for the portal's few hundred sessions, and called only when a
    lockout begins, not for each refused attempt.
    """
    user_model = get_user_model()
    user_id = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username})
        .values_list("pk", flat=True)
        .first()
    )
    if user_id is None:
        return 0
    store = _session_store()
    if store is None:
        logger.error(
            "Cannot end the sessions of %s: SESSION_ENGINE %s keeps no sessions in the database.",
            username,
            settings.SESSION_ENGINE,
        )
        return 0
    model = store.get_model_class()  # type: ignore[attr-defined]
    unexpired = model.objects.filter(expire_date__gt=timezone.now())
    ended = 0
    for key, data in unexpired.values_list("session_key", "session_data").iterator():
        if store().decode(data).get(SESSION_KEY) == str(user_id):
            store(session_key=key).delete()  # the cache's copy as well, for cached_db
            ended += 1
    return ended


def time_zone_set(*, user: AbstractBaseUser, time_zone: str, origin: Origin) -> None:
    """The person's time zone ("" for the portal's), kept with its audit entry."""
    with transaction.atomic():
        preferences, _ = Preferences.objects.select_for_update().get_or_create(user_id=user.pk)
        before = preferences.time_zone
        preferences.time_zone = time_zone
        preferences.save(update_fields=["time_zone"])
        record(
            Action.TIME_ZONE_CHANGED,
            origin=origin,
            outcome=Outcome.OK,
            asked={"from": before, "to": time_zone},
            summary=f"Time zone: {time_zone or 'the portal time zone'}",
        )


def time_zone_of(user: AbstractBaseUser) -> str:
    """The person's time zone, "" for the portal's."""
    zone = Preferences.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
    return zone or ""
