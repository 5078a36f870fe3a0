"""The simulator's answers in JSON: plain bodies, and RFC 9457 Problems for every error."""

import json
from collections.abc import Mapping
from urllib.parse import quote

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

_PROBLEM_TYPES = {
    400: ("/problems/invalid-request", "Invalid request"),
    401: ("/problems/unauthorized", "Unauthorized"),
    403: ("/problems/forbidden", "Forbidden"),
    404: ("/problems/not-found", "Not found"),
    405: ("/problems/method-not-allowed", "Method not allowed"),
    409: ("/problems/cancellation-not-permitted", "Cancellation not permitted"),
    429: ("/problems/rate-limited", "Too many requests"),
    500: ("/problems/internal-error", "Internal server error"),
}


class ProblemError(Exception):
    """Answer the request with this (Problem) response; lets a check deep in a handler end it."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(
    body: object, status: int = 200, *, content_type: str = "application/json"
) -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type)


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    extra: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An RFC 9457 Problem; `instance` is the request path."""
    problem_type, default_title = _PROBLEM_TYPES.get(
        status, ("about:blank", HTTP_STATUS_CODES.get(status, "Error"))
    )
    body: dict[str, object] = {
        "type": problem_type,
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "instance": quote(request.path, safe="/:@!$&'()*+,;=-._~"),
    }
    body.update(extra or {})
    response = json_response(body, status, content_type="application/problem+json")
    response.headers.extend(dict(headers or {}))
    return response
