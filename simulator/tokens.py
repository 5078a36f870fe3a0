"""Bearer tokens: HS256 JWTs shaped like the ones KPN's identity service (GRIP) issues.

Claims: iss "things-simulator", sub (client id), tid (tenant id), aud (audience), scope (space
separated), iat and exp (iat + 3600 unless asked otherwise). Expiry is checked against the
simulator's own clock, so a skewed clock is felt by clients exactly as a skewed server is.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from simulator.clock import Clock

ISSUER = "things-simulator"
ALGORITHM = "HS256"
TOKEN_TTL_SECONDS = 3600
READ_SCOPE = "downlink.read"
WRITE_SCOPE = "downlink.write"
DELETE_SCOPE = "downlink.delete"
ALL_SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE, DELETE_SCOPE)
# The subject of tokens issued without a client: for tests, /_sim/tokens, `simulator_token`.
CLIENTLESS_SUBJECT = "simulator-token"


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    tenant_id: str
    scopes: frozenset[str]
    issued_at: int
    expires_at: int


class TokenRejected(Exception):
    """The token cannot be used; the message says why, without quoting the token."""


def issue_token(
    key: str,
    *,
    tenant_id: str,
    subject: str,
    audience: str,
    scopes: tuple[str, ...] | list[str] | frozenset[str],
    now_seconds: int,
    ttl_seconds: int = TOKEN_TTL_SECONDS,
) -> str:
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "tid": tenant_id,
        "aud": audience,
        "scope": " ".join(scopes),
        "iat": now_seconds,
        "exp": now_seconds + ttl_seconds,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify_token(key: str, token: str, *, audience: str, now_seconds: int) -> TokenClaims:
    """The token's claims if its signature, issuer, audience and expiry are good."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            # Expiry is checked below against the simulator's clock, not the host's.
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "sub", "aud", "iat", "exp"],
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected("the bearer token's signature is not valid") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("the bearer token was not issued for this API (audience)") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("the bearer token was not issued by this identity service") from None
    except jwt.PyJWTError:
        raise TokenRejected("the bearer token is malformed or incomplete") from None
    tenant_id, scope, subject = claims.get("tid"), claims.get("scope", ""), claims.get("sub")
    expires_at, issued_at = claims.get("exp"), claims.get("iat")
    if not isinstance(tenant_id, str) or not tenant_id or not isinstance(scope, str):
        raise TokenRejected("the bearer token lacks a tenant (tid) or its scope is malformed")
    if not isinstance(expires_at, int) or not isinstance(issued_at, int):
        raise TokenRejected("the bearer token's iat and exp must be whole seconds")
    if now_seconds >= expires_at:
        raise TokenRejected("the bearer token has expired")
    return TokenClaims(
        subject=str(subject),
        tenant_id=tenant_id,
        scopes=frozenset(scope.split()),
        issued_at=issued_at,
        expires_at=expires_at,
    )


class TokenAuthority:
    """This simulator as an identity service: its signing key, the one audience it issues for
    and accepts, and its clock (so issue and expiry follow the simulator's time, skew included).
    """

    def __init__(self, signing_key: str, audience: str, clock: Clock) -> None:
        self._signing_key = signing_key
        self.audience = audience
        self._clock = clock

    def issue(
        self,
        tenant_id: str,
        subject: str,
        scopes: Iterable[str],
        ttl_seconds: int = TOKEN_TTL_SECONDS,
    ) -> str:
        """A token issued now, expiring `ttl_seconds` later."""
        return issue_token(
            self._signing_key,
            tenant_id=tenant_id,
            subject=subject,
            audience=self.audience,
            scopes=tuple(scopes),
            now_seconds=self._clock.now_ms() // 1000,
            ttl_seconds=ttl_seconds,
        )

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token this simulator issued and that has not expired."""
        return verify_token(
            self._signing_key,
            token,
            audience=self.audience,
            now_seconds=self._clock.now_ms() // 1000,
        )
