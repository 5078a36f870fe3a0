"""Writing to the audit trail. Call these inside the transaction of the change they record,
so a rolled-back change leaves no entry and a committed one always has its entry."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from python_ipware import IpWare

from audit.chain import GENESIS_HASH, seal
from audit.keys import newest_key
from audit.models import Action, AuditEntry, ChainHead, Outcome, Phase

SECRET_KEY_PATTERN = re.compile(r"secret|token|password|authorization|api[_-]?key", re.IGNORECASE)
# Names that match the pattern but hold an address, not a secret (a credential's tokenUrl).
ADDRESS_KEY_PATTERN = re.compile(r"ur[li]$", re.IGNORECASE)
REDACTED = "[redacted]"
USER_AGENT_MAX = 300
# What `record` stamps an entry with. Always the current time in the portal; the tests set it to
# write entries "at" a time of their choosing through the real writer.
clock: Callable[[], datetime] = timezone.now


@dataclass(frozen=True)
class Origin:
    """Who did it and from where."""

    actor_id: int | None
    actor_label: str
    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest, *, actor_label: str = "") -> Origin:
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and user.is_authenticated)
        return cls(
            actor_id=user.pk if authenticated and user is not None else None,
            actor_label=actor_label or (user.get_username() if authenticated and user else ""),
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
        )

    @classmethod
    def system(cls, label: str = "system") -> Origin:
        return cls(actor_id=None, actor_label=label)


@dataclass(frozen=True)
class TeamRef:
    """The team an entry belongs to, as the trail keeps it: an id and a readable label."""

    id: int
    label: str


FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, always a valid IP (in python-ipware's normal form) or None.

    With TRUSTED_PROXY_COUNT = 0 it is the socket's peer (REMOTE_ADDR) and X-Forwarded-For is
    not read. With N > 0 proxies in front, each appending the address it saw, it is the Nth
    entry from the end of X-Forwarded-For: the address our outermost proxy saw. Entries before
    those are whatever the client sent and are ignored. A header our proxies cannot have
    written (fewer than N entries, or one of the last N not an IP) falls back to REMOTE_ADDR.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        entries = request.META.get(FORWARDED_FOR, "").split(",")
        if len(entries) >= proxies:
            address = _only_address(FORWARDED_FOR, ",".join(entries[-proxies:]), proxies)
            if address is not None:
                return address
    return _only_address("REMOTE_ADDR", request.META.get("REMOTE_ADDR", ""), 1)


def client_ip_for_axes(request: HttpRequest) -> str | None:
    """django-axes asks for the address in the same way, so lockouts and audit entries agree."""
    return client_ip(request)


@functools.cache
def _resolver(header: str, entries: int) -> IpWare:
    # One header only: python-ipware's default list holds headers any client can set.
    return IpWare(precedence=(header,), proxy_count=entries - 1)


def _only_address(header: str, value: str, entries: int) -> str | None:
    """The first of exactly `entries` comma-separated addresses, or None when any of them is
    not an IP (strict: one bad entry rejects the whole value) or is never a client's address
    (unspecified, multicast, reserved)."""
    address, _ = _resolver(header, entries).get_client_ip({header: value}, strict=True)
    if address is None:
        return None
    # Without an IPv6 zone (fe80::1%eth0): PostgreSQL's inet, where axes keeps it, has none.
    return str(address).partition("%")[0]


def _looks_secret(key: str, value: Any) -> bool:
    # A flag such as secretChanged, or nothing at all, cannot carry a secret.
    if value is None or isinstance(value, bool):
        return False
    return bool(SECRET_KEY_PATTERN.search(key)) and not ADDRESS_KEY_PATTERN.search(key)


def scrubbed(value: Any) -> Any:
    """A JSON-safe copy with the values of secret-looking keys replaced: a second line of
    defence, callers should not pass secrets in the first place. Text that came from upstream
    has been redacted where it entered, in the Things client (`things_api.redaction`)."""
    if isinstance(value, dict):
        return {
            str(key): REDACTED if _looks_secret(str(key), item) else scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrubbed(item) for item in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def stored_address(address: str | None) -> str | None:
    """The address as the database keeps it (IPv6 compressed, in lower case), so that what
    is hashed is what is read back."""
    if address and ":" in address:
        try:
            return clean_ipv6_address(address)
        except ValidationError:
            return address
    return address


def record(
    action: Action,
    *,
    origin: Origin,
    team: TeamRef | None = None,
    phase: Phase = Phase.EVENT,
    outcome: Outcome | str = "",
    attempt: AuditEntry | None = None,
    target_kind: str = "",
    target_id: str = "",
    device_id: str = "",
    summary: str = "",
    asked: dict[str, Any] | None = None,
    answered: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain."""
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"sequence": 0, "last_hash": GENESIS_HASH}
        )
        entry = AuditEntry(
            sequence=head.sequence + 1,
            created_at=clock(),
            action=action,
            phase=phase,
            outcome=outcome,
            attempt_sequence=attempt.sequence if attempt is not None else None,
            actor_id=origin.actor_id,
            actor_label=origin.actor_label[:150],
            team_id=team.id if team is not None else None,
            team_label=team.label[:100] if team is not None else "",
            target_kind=target_kind,
            target_id=target_id[:100],
            device_id=device_id[:100],
            summary=summary[:300],
            # Round-tripped through JSON so what is hashed is exactly what the database returns.
            asked=json.loads(json.dumps(scrubbed(asked or {}))),
            answered=json.loads(json.dumps(scrubbed(answered or {}))),
            ip_address=stored_address(origin.ip_address),
            user_agent=origin.user_agent[:USER_AGENT_MAX],
            previous_hash=head.last_hash,
        )
        seal(entry, newest_key())  # an HMAC under the newest AUDIT_CHAIN_KEYS key
        entry.save(force_insert=True)
        head.sequence = entry.sequence
        head.last_hash = entry.entry_hash
        head.save(update_fields=["sequence", "last_hash"])
    return entry


def record_attempt(action: Action, **fields: Any) -> AuditEntry:
    """The entry written before an API call; its outcome entry follows after the call."""
    return record(action, phase=Phase.ATTEMPT, outcome=Outcome.PENDING, **fields)


def record_outcome(
    attempt: AuditEntry, *, outcome: Outcome, origin: Origin, **fields: Any
) -> AuditEntry:
    """The entry that completes `attempt`; it repeats the attempt's team and target."""
    team = TeamRef(attempt.team_id, attempt.team_label) if attempt.team_id is not None else None
    defaults: dict[str, Any] = {
        "team": team,
        "target_kind": attempt.target_kind,
        "target_id": attempt.target_id,
        "device_id": attempt.device_id,
    }
    defaults.update(fields)
    return record(
        Action(attempt.action),
        origin=origin,
        phase=Phase.OUTCOME,
        outcome=outcome,
        attempt=attempt,
        **defaults,
    )
