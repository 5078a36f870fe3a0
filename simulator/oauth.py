"""The token endpoint, like KPN's identity service (GRIP): OAuth2 client credentials.

POST /v2/{tenantId}/oidc/idp/c1/token with a form-encoded `grant_type=client_credentials`,
the client's id and secret (in the form or as HTTP Basic), and optional `audience` and
`scope`. Errors are OAuth2 JSON (RFC 6749 section 5.2), not Problems.
"""

from collections.abc import Iterable
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from simulator.problems import json_response
from simulator.request_log import note_tenant
from simulator.store import Store
from simulator.tokens import TOKEN_TTL_SECONDS, TokenAuthority


def token_body(token: str, expires_in: int, scopes: Iterable[str]) -> dict[str, object]:
    """An OAuth2 access token response's body."""
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": " ".join(scopes),
    }


class TokenEndpoint:
    """Issues tokens to the clients registered in the store (see /_sim/clients)."""

    def __init__(self, store: Store, tokens: TokenAuthority) -> None:
        self._store = store
        self._tokens = tokens

    def issue(self, request: Request, tenant_id: str) -> Response:
        form = request.form
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization is not None and request.authorization.type == "basic":
            client_id = unquote(request.authorization.username or "")
            client_secret = unquote(request.authorization.password or "")
        grant_type = form.get("grant_type", "")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "grant_type is required.")
        if grant_type != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "Only grant_type=client_credentials is supported."
            )
        if not client_id:
            return _oauth_error(400, "invalid_request", "client_id is required.")
        audience = form.get("audience", "")
        if audience and audience != self._tokens.audience:
            return _oauth_error(
                400, "invalid_target", f"The audience must be {self._tokens.audience!r}."
            )
        note_tenant(request, tenant_id)
        client = self._store.authenticate_client(tenant_id, client_id, client_secret)
        if client is None:
            return _oauth_error(
                401,
                "invalid_client",
                "Client authentication failed: unknown client, wrong secret, or revoked.",
            )
        requested = form.get("scope", "").split()
        if any(scope not in client.scopes for scope in requested):
            return _oauth_error(
                400,
                "invalid_scope",
                f"This client may only ask for: {' '.join(client.scopes) or 'no scopes'}.",
            )
        scopes = tuple(requested) if requested else client.scopes
        token = self._tokens.issue(tenant_id, client.client_id, scopes)
        response = json_response(token_body(token, TOKEN_TTL_SECONDS, scopes))
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response


def _oauth_error(status: int, error: str, description: str) -> Response:
    response = json_response({"error": error, "error_description": description}, status)
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="things"'
    return response
