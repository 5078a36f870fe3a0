"""The keys of the audit chain: each entry's hash is an HMAC under one of them.

They are held outside the database (the AUDIT_CHAIN_KEYS setting, newest first), so someone
who can write to the database but does not have a key cannot recompute the hashes of a
rewritten trail. New entries use the newest key; verification accepts an entry under any key
still listed, which makes rotation a matter of prepending a new key and, once the anchors and
backups that need the old one are gone, dropping it.

Each entry stores the short id of its key, derived from the key itself, so there is no
separate list of ids to keep in step with the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

KEY_ID_LENGTH = 8
KEY_MIN_LENGTH = 32
# What a key's id is the HMAC of: the id names the key without revealing it.
KEY_ID_MESSAGE = b"things-portal audit chain key id"


@dataclass(frozen=True)
class ChainKey:
    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def from_setting(cls, value: str) -> ChainKey:
        secret = value.encode()
        return cls(id=key_id(secret), secret=secret)


def key_id(secret: bytes) -> str:
    return hmac.new(secret, KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]


def configured_keys() -> list[ChainKey]:
    """The keys in AUDIT_CHAIN_KEYS, newest first; none while the setting is absent."""
    values: list[str] = getattr(settings, "AUDIT_CHAIN_KEYS", [])
    return [ChainKey.from_setting(value) for value in values]


def newest_key() -> ChainKey | None:
    """The key new entries are hashed with; None (plain SHA-256) without AUDIT_CHAIN_KEYS."""
    keys = configured_keys()
    return keys[0] if keys else None


def generate_key() -> str:
    return secrets.token_urlsafe(32)


def keys_from_env_or_file(from_env: list[str], key_file: Path) -> tuple[list[str], bool]:
    """For settings: AUDIT_CHAIN_KEYS from the environment, else one key generated once in
    `key_file` (for `make run`); the second value says it came from the file, for the deploy
    check.

    The file is written under a temporary name and linked into place, so two processes
    starting at once agree on one key and neither can read a half-written file.
    """
    if from_env:
        return from_env, False
    if not key_file.exists():
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(generate_key())
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass  # another process was first: its key is the one
        finally:
            draft.unlink()
    return [key_file.read_text().strip()], True
