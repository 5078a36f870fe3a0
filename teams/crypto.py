"""Encryption of secrets at rest, with keys of their own (FIELD_ENCRYPTION_KEYS).

The keys are a list for rotation: the first encrypts, all decrypt (cryptography's
MultiFernet). They are never derived from SECRET_KEY, and a value that no key decrypts is an
error, never a silent fallback.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""

    def __init__(self) -> None:
        super().__init__(
            "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS; "
            "the keys are wrong or the one it was encrypted with was removed."
        )


def _fernet() -> MultiFernet:
    keys: list[str] = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []))
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty; secrets cannot be stored.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated, newest first."
        ) from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError() from None


def reencrypt(ciphertext: str) -> str:
    """The same secret, encrypted with the newest key."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError() from None


def new_key() -> str:
    return Fernet.generate_key().decode()
