"""From a team's stored credential to a Things API client.

One client (one httpx connection pool, one cached access token) per credential, reused across
requests in this process. A changed credential has a new version, so its old client is closed
and a new one built.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import httpx
from django.conf import settings
from django.db import transaction

from audit.models import Action, Outcome
from audit.trail import Origin, TeamRef, record
from core.server_timing import observe_api_request
from teams.crypto import DecryptionError
from teams.models import AuthKind, Team, ThingsCredential
from things_api import (
    ClientCredentials,
    GuardedTransport,
    OutboundPolicy,
    RetryPolicy,
    StaticBearerToken,
    ThingsAuthError,
    ThingsClient,
    ThingsError,
    ThingsTransportError,
)

logger = logging.getLogger(__name__)


class NoCredential(Exception):
    """The team has no Things credential yet."""

    def __init__(self, team: Team) -> None:
        super().__init__(f"{team.name} has no Things API credential yet.")


_clients: dict[int, tuple[int, ThingsClient]] = {}
_clients_lock = threading.Lock()


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.THINGS_CONNECT_TIMEOUT,
        read=settings.THINGS_READ_TIMEOUT,
        write=settings.THINGS_READ_TIMEOUT,
        pool=settings.THINGS_CONNECT_TIMEOUT,
    )


def outbound_policy() -> OutboundPolicy:
    """Where the portal may send requests (THINGS_ALLOWED_HOSTS)."""
    return OutboundPolicy.of(settings.THINGS_ALLOWED_HOSTS)


def _build_client(credential: ThingsCredential) -> ThingsClient:
    auth: httpx.Auth
    if credential.auth_kind == AuthKind.CLIENT_CREDENTIALS:
        auth = ClientCredentials(
            token_url=credential.token_url,
            tenant_id=credential.tenant_id,
            client_id=credential.client_id,
            client_secret=credential.secret(),
            audience=credential.audience,
        )
    else:
        auth = StaticBearerToken(credential.secret())
    return ThingsClient(
        credential.api_url,
        auth,
        timeout=_timeout(),
        retry=RetryPolicy(max_attempts=settings.THINGS_RETRY_ATTEMPTS),
        observer=observe_api_request,
        transport=GuardedTransport(outbound_policy()),
    )


def things_client_for(credential: ThingsCredential) -> ThingsClient:
    with _clients_lock:
        cached = _clients.get(credential.pk)
        if cached is not None and cached[0] == credential.version:
            return cached[1]
        if cached is not None:
            cached[1].close()
        client = _build_client(credential)
        _clients[credential.pk] = (credential.version, client)
        return client


_NOT_LOADED = object()


def team_credential(team: Team) -> ThingsCredential | None:
    """The team's stored credential: the one loaded with the team for this request (a team
    page's team comes from `teams.access.teams_of`), else read now."""
    loaded = Team.credential.related.get_cached_value(team, default=_NOT_LOADED)
    if loaded is _NOT_LOADED:
        return ThingsCredential.objects.filter(team=team).first()
    return cast(ThingsCredential | None, loaded)


def team_client(team: Team) -> ThingsClient:
    credential = team_credential(team)
    if credential is None:
        raise NoCredential(team)
    return things_client_for(credential)


def forget_clients() -> None:
    """Close every cached client (tests, and after re-encryption)."""
    with _clients_lock:
        for _, client in _clients.values():
            client.close()
        _clients.clear()


def token_expiry(credential: ThingsCredential) -> datetime | None:
    """When the access token this process holds for the credential expires, if it holds one."""
    with _clients_lock:
        cached = _clients.get(credential.pk)
    if cached is None or cached[0] != credential.version:
        return None
    expires_at: datetime | None = getattr(cached[1].auth, "token_expires_at", None)
    return expires_at


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str


def _checked(client: ThingsClient) -> ConnectionCheck:
    """One real read through `client`, in words. A failure to connect is one sentence,
    whatever its kind (the detail is logged): an admin's test must not tell a closed port from
    an open one, nor quote a service that is not the Things API."""
    try:
        client.check_connection()
    except (ThingsTransportError, ThingsAuthError) as error:
        if isinstance(error, ThingsAuthError) and error.status_code is not None:
            return ConnectionCheck(False, f"The connection failed. {error.describe()}")
        logger.warning("connection test to %s failed: %s", client.base_url.host, error)
        return ConnectionCheck(
            False,
            f"The connection failed. Could not reach the Things API at {client.base_url.host}.",
        )
    except ThingsError as error:
        return ConnectionCheck(False, f"The connection failed. {error.describe()}")
    expires = getattr(client.auth, "token_expires_at", None)
    until = f" The access token is valid until {expires:%H:%M:%S} UTC." if expires else ""
    return ConnectionCheck(
        True, f"Connected: the Things API answered and accepted the credential.{until}"
    )


def connection_test(*, team: Team, origin: Origin) -> ConnectionCheck:
    """One real read with the team's STORED credential (so its secret goes only to the
    stored endpoints), reported in words and audited."""
    try:
        check = _checked(team_client(team))
    except (NoCredential, DecryptionError) as error:
        check = ConnectionCheck(False, str(error))
    _record_test(team, origin, check, summary=check.message)
    return check


def candidate_test(*, team: Team, candidate: ThingsCredential, origin: Origin) -> ConnectionCheck:
    """The values an admin is about to save, tried first with a client of their own (never
    cached, closed after the one read), reported in words and audited."""
    try:
        client = _build_client(candidate)
    except DecryptionError as error:
        check = ConnectionCheck(False, str(error))
    else:
        with client:
            check = _checked(client)
    _record_test(team, origin, check, summary=f"Before saving: {check.message}")
    return check


def _record_test(team: Team, origin: Origin, check: ConnectionCheck, *, summary: str) -> None:
    with transaction.atomic():
        record(
            Action.CREDENTIAL_TESTED,
            origin=origin,
            team=TeamRef(team.pk, team.slug),
            outcome=Outcome.OK if check.ok else Outcome.FAILED,
            target_kind="credential",
            target_id=team.slug,
            summary=summary[:300],
        )
