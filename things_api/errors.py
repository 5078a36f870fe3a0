"""The exceptions the Things client raises.

Every exception describes itself in plain words that support staff can read (`describe()`, which
is also `str(exc)`). None of them ever holds a bearer token or a client secret: the client only
gives them the method, the path (never the query string), the status and what the API said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from things_api.models import Problem

SNIPPET_LENGTH = 200


class ThingsError(Exception):
    """Base of everything the Things client raises on purpose."""

    def describe(self) -> str:
        return "Something went wrong talking to the Things API."

    @property
    def outcome_unknown(self) -> bool:
        """Whether the API may have carried out the request although this error was raised.

        For a create this means the downlink may exist: record it as "outcome unknown" and
        reconcile (search by device and time) rather than send it again.
        """
        return False

    def __str__(self) -> str:
        return self.describe()


def _seconds(value: float) -> str:
    if value == int(value):
        whole = int(value)
        return f"{whole} second" if whole == 1 else f"{whole} seconds"
    return f"{value:g} seconds"


class ThingsTransportError(ThingsError):
    """No usable HTTP answer: the connection failed or timed out.

    `may_have_reached_server` says whether the request may have been received (and acted upon)
    by the API. When it is True for a create, the outcome is unknown and must be reconciled.
    """

    def __init__(self, *, method: str, path: str, may_have_reached_server: bool) -> None:
        super().__init__(method, path)
        self.method = method
        self.path = path
        self.may_have_reached_server = may_have_reached_server

    @property
    def outcome_unknown(self) -> bool:
        return self.may_have_reached_server


class ThingsConnectionError(ThingsTransportError):
    """The connection could not be made, or broke before a complete answer arrived."""

    def __init__(
        self, *, method: str, path: str, may_have_reached_server: bool, reason: str = ""
    ) -> None:
        super().__init__(method=method, path=path, may_have_reached_server=may_have_reached_server)
        self.reason = reason

    def describe(self) -> str:
        if self.may_have_reached_server:
            return (
                "The connection to the Things API broke before it answered; "
                "the request may or may not have been carried out."
            )
        return "Could not connect to the Things API."


class ThingsTimeoutError(ThingsTransportError):
    """A timeout; `phase` is one of "connect", "read", "write", "pool", or "deadline" (the
    time budget ran out before the attempt could be made: it was not sent)."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        may_have_reached_server: bool,
        phase: str,
        seconds: float | None,
    ) -> None:
        super().__init__(method=method, path=path, may_have_reached_server=may_have_reached_server)
        self.phase = phase
        self.seconds = seconds

    def describe(self) -> str:
        within = f" within {_seconds(self.seconds)}" if self.seconds is not None else " in time"
        if self.phase == "deadline":
            return f"Gave up waiting for the Things API: no usable answer came{within}."
        if self.phase == "connect":
            return f"Could not connect to the Things API{within}."
        if self.phase == "pool":
            return f"No free connection to the Things API became available{within}."
        if self.phase == "write":
            return f"Could not send the request to the Things API{within}."
        return f"The Things API did not answer{within}."


class ThingsResponseError(ThingsError):
    """The API answered, but with something we cannot use (not JSON, or the wrong shape)."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status_code: int,
        reason: str,
        snippet: str = "",
    ) -> None:
        super().__init__(method, path, status_code)
        self.method = method
        self.path = path
        self.status_code = status_code
        self.reason = reason
        self.snippet = snippet[:SNIPPET_LENGTH]

    def describe(self) -> str:
        return f"The Things API gave an answer that could not be understood ({self.reason})."

    @property
    def outcome_unknown(self) -> bool:
        """A success status with a body we cannot read (the request most likely succeeded),
        or a server error we could not read (which, like any 5xx, may follow the work)."""
        return 200 <= self.status_code < 300 or self.status_code >= 500


class ThingsLinkError(ThingsError, ValueError):
    """A page link that does not point at the configured Things API (never followed)."""

    def describe(self) -> str:
        return "The page link does not point to the Things API, so it was not followed."


class ThingsAPIError(ThingsError):
    """The API answered with an error status (4xx/5xx), usually with an RFC 9457 Problem."""

    default_text = "The Things API refused the request"

    def __init__(
        self,
        *,
        status_code: int,
        problem: Problem | None,
        retry_after: float | None,
        method: str,
        path: str,
    ) -> None:
        super().__init__(status_code, method, path)
        self.status_code = status_code
        self.problem = problem
        self.retry_after = retry_after
        self.method = method
        self.path = path

    def describe(self) -> str:
        explanation = self.problem.summary() if self.problem is not None else ""
        if explanation:
            return f"{self.default_text}: {explanation}"
        return f"{self.default_text} (HTTP {self.status_code})."


class ThingsBadRequest(ThingsAPIError):
    default_text = "The Things API refused the request"


class ThingsUnauthorized(ThingsAPIError):
    default_text = "The Things API did not accept the team's credential"


class ThingsForbidden(ThingsAPIError):
    default_text = "The team's credential is not allowed to do this"


class ThingsNotFound(ThingsAPIError):
    default_text = "The Things API does not know this downlink"


class ThingsConflict(ThingsAPIError):
    default_text = "The Things API refused because of the downlink's current state"


class ThingsRateLimited(ThingsAPIError):
    default_text = "The Things API is receiving too many requests"

    def describe(self) -> str:
        explanation = self.problem.summary() if self.problem is not None else ""
        # Leave out problem words that would only repeat "too many requests".
        if explanation and "too many requests" not in explanation.lower():
            text = f"{self.default_text}: {explanation.rstrip('.')}"
        else:
            text = self.default_text
        if self.retry_after is not None:
            return f"{text}. Try again in {_seconds(round(self.retry_after))}."
        return f"{text}. Try again in a moment."


class ThingsServerError(ThingsAPIError):
    default_text = "The Things API had an internal problem"

    @property
    def outcome_unknown(self) -> bool:
        """A 5xx (or a gateway's 502/504) can come after the request was carried out."""
        return True


_BY_STATUS: dict[int, type[ThingsAPIError]] = {
    400: ThingsBadRequest,
    401: ThingsUnauthorized,
    403: ThingsForbidden,
    404: ThingsNotFound,
    409: ThingsConflict,
    429: ThingsRateLimited,
}


def api_error_class(status_code: int) -> type[ThingsAPIError]:
    """The exception class for an error status (5xx → ThingsServerError, other → base)."""
    if status_code >= 500:
        return ThingsServerError
    return _BY_STATUS.get(status_code, ThingsAPIError)


class ThingsAuthError(ThingsError):
    """The identity service did not hand out a token (wrong client secret, unreachable, ...).

    `error_code` is the OAuth2 "error" field (e.g. "invalid_client") when there was one.
    The API request itself was never sent, hence `may_have_reached_server` is always False.
    """

    may_have_reached_server = False

    def __init__(
        self, reason: str, *, error_code: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(reason, error_code, status_code)
        self.reason = reason
        self.error_code = error_code
        self.status_code = status_code

    def describe(self) -> str:
        text = f"Could not get an access token from KPN's identity service: {self.reason}"
        if self.error_code:
            text = f"{text} (error code {self.error_code})"
        return text if text.endswith(".") else f"{text}."
