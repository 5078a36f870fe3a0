"""Secrets taken out of text that came back from upstream, before anyone stores, logs or shows
it.

An identity service may echo the token request in its `error_description` (the client secret
form-encoded: `CANARY%2Benc%2F9%3Dx+y%26z`), an API or a proxy may echo the Authorization
header in a Problem's `detail`. Replacing only the raw secret misses those, so every encoding
a secret travels in is replaced, and anything shaped like a bearer token or a JWT too, whoever's
it is.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from html import escape
from typing import Any, Final
from urllib.parse import quote, quote_plus

REDACTED: Final = "[redacted]"
# A secret shorter than this is not looked for: replacing it would garble ordinary words.
MIN_SECRET_LENGTH: Final = 6

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)([A-Za-z0-9._~+/=%-]{8,})")


def encodings(secret: str) -> set[str]:
    """The forms `secret` travels in: raw, URL- and form-encoded, JSON- and HTML-escaped, and
    base64 (standard and URL-safe, with and without padding)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        escape(secret),
    }
    raw = secret.encode()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        forms |= {text, text.rstrip("=")}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every encoding of each of `secrets`, and any bearer token or JWT, replaced."""
    for form in sorted(
        {form for secret in secrets if secret for form in encodings(secret)},
        key=len,
        reverse=True,
    ):
        text = text.replace(form, REDACTED)
    text = _JWT.sub(REDACTED, text)
    return _BEARER.sub(_credential_after_scheme, text)


def _credential_after_scheme(match: re.Match[str]) -> str:
    """`Bearer <token>` or `Basic <base64>` with the credential replaced; "basic settings",
    a scheme word followed by an ordinary word, is left alone."""
    credential = match.group(3)
    if credential.isalpha() and (credential.islower() or credential.isupper()):
        return match.group(0)
    return f"{match.group(1)} {REDACTED}"


def redact_json(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON value with every string in it redacted (keys too)."""
    known = list(secrets)
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, dict):
        return {redact(str(key), known): redact_json(item, known) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item, known) for item in value]
    return value
