"""Requests whose text is not UTF-8 are refused in words (a 400), before anything reads them.

Why: the portal's pages are UTF-8 and so is every form a browser sends from them, so
anything else is a broken or hand-made request, and Django does not refuse it cleanly:

- A form body declaring another charset (`application/x-www-form-urlencoded;
  charset=latin-1`) makes `request.POST` raise BadRequest. The CSRF middleware meets it
  first; Django's 400 view re-runs the CSRF check (`requires_csrf_token`), which reads
  `request.POST` again and fails again, and so does the 500 view: the visitor gets a 500.
  (Django marks the POST as unreadable for its other body errors, not for this one.)
- A charset Python does not know is silently ignored, and bytes that are not UTF-8 (in the
  query string or a form) are silently replaced with U+FFFD, so a garbled value could pass a
  form and be sent to the Things API.

`request_encoding` goes in MIDDLEWARE before CsrfViewMiddleware (the first reader of
`request.POST`). `refuse_unreadable_content_type` wraps the WSGI application for the one
case no middleware can see: a Content-Type Django cannot parse at all fails while the
request object is being built, before any middleware runs.
"""

import codecs
from collections.abc import Callable, Iterable
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.http import parse_header_parameters

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
UTF8_ONLY = "The portal reads text in UTF-8 only."
RESEND = "Reload the page and send the form again."
_SHOWN_LENGTH = 40  # of a charset name echoed back


def request_encoding(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Answer 400, in words, to a request whose text is not UTF-8 (see the module's docstring)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        problem = encoding_problem(request)
        if problem is None:
            return get_response(request)
        return bad_request(problem, fragment=request.headers.get("HX-Request") == "true")

    return middleware


def encoding_problem(request: HttpRequest) -> str | None:
    """What is wrong with the request's encoding, in words, or None when it is UTF-8.

    A UTF-8 charset spelled another way (`utf8`, `UTF_8`) is normalised to the `utf-8` that
    Django insists on, rather than refused."""
    charset = (request.content_params or {}).get("charset")
    if charset is not None:
        shown = charset[:_SHOWN_LENGTH]
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            return (
                f"The request says its text is in “{shown}”, a character set the portal does "
                f"not know. {UTF8_ONLY} {RESEND}"
            )
        if name != "utf-8":
            return f"The request's text is in “{shown}”. {UTF8_ONLY} {RESEND}"
        request.encoding = "utf-8"
    if not _is_utf8(unquote_to_bytes(_wsgi_bytes(request.META.get("QUERY_STRING", "")))):
        return (
            "The address has characters that are not valid UTF-8 after its “?”. "
            f"{UTF8_ONLY} Clear the filters and start again."
        )
    if not _form_is_utf8(request):
        return f"The form was sent with characters that are not valid UTF-8. {UTF8_ONLY} {RESEND}"
    return None


def bad_request(problem: str, *, fragment: bool) -> HttpResponseBadRequest:
    """The 400: a banner for htmx to swap in where the request came from, else a small page
    (the portal's own templates need the session and user, which do not exist yet here)."""
    banner = f'<div class="banner" role="alert">{escape(problem)}</div>'
    if not fragment:
        banner = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Bad request · Things Portal</title></head><body><main>"
            f'<h1>Bad request</h1>{banner}<p><a href="/">Back to the portal</a></p>'
            "</main></body></html>"
        )
    return HttpResponseBadRequest(banner, content_type="text/html; charset=utf-8")


def refuse_unreadable_content_type(app: "WSGIApplication") -> "WSGIApplication":
    """Wrap the WSGI application (things_portal/wsgi.py) so that a Content-Type Django cannot
    parse (longer than it allows, or naming an unknown charset the RFC 2231 way) gets a 400
    in words; Django would raise while building the request, outside every handler: a 500."""

    def wrapped(environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        try:
            parse_header_parameters(environ.get("CONTENT_TYPE", ""))
        except ValueError:
            response = bad_request(
                f"The request's Content-Type header cannot be read. {RESEND}",
                fragment=environ.get("HTTP_HX_REQUEST") == "true",
            )
            start_response(
                f"{response.status_code} {response.reason_phrase}", list(response.items())
            )
            return [response.content]
        return app(environ, start_response)

    return wrapped


def _wsgi_bytes(value: str) -> bytes:
    """The raw bytes of a WSGI string (PEP 3333 carries them as latin-1)."""
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _form_is_utf8(request: HttpRequest) -> bool:
    """Whether a form body (URL-encoded, or the text parts of a multipart one) is UTF-8.

    Reading the body here is what the CSRF middleware does next anyway; a body too large
    raises RequestDataTooBig, which Django answers with a 400 of its own. (That limit now
    covers a whole multipart body too: the portal takes no file uploads.)"""
    if request.content_type == FORM:
        return _is_utf8(unquote_to_bytes(request.body))
    boundary = (request.content_params or {}).get("boundary", "")
    if request.content_type == MULTIPART and boundary:
        return _text_parts_are_utf8(request.body, boundary)
    return True


def _text_parts_are_utf8(body: bytes, boundary: str) -> bool:
    """Whether every part of a multipart body but file uploads is UTF-8 (Django would decode
    a part that is not with U+FFFD in place of each bad byte, and go on)."""
    for part in body.split(b"--" + _wsgi_bytes(boundary)):
        headers = part.split(b"\r\n\r\n", 1)[0]
        if b"filename=" not in headers.lower() and not _is_utf8(part):
            return False
    return True
