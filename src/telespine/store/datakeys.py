"""Secrets the app must read back, encrypted at rest (issue 13): the two-step sign-in secrets.

Fernet (AES-128-CBC with HMAC-SHA256, from the maintained `cryptography` library) through a
MultiFernet: the first key encrypts, every key decrypts, so keys can be rotated. The keys are
`TELESPINE_DATA_KEY` (comma-separated Fernet keys, newest first), then always one derived from
`TELESPINE_SECRET_KEY` with HKDF-SHA256 (the key used when no data key is set; outside
development the secret key is refused unless it is a real random value, so there is never a
development key in production). `telespine db rotate-data-key` re-encrypts every row with the
first key (docs/security.md, "Secrets at rest").
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from telespine.settings import Settings

HKDF_INFO = b"telespine data key v1"
# A TOTP secret as pyotp makes it (base32); a Fernet token never looks like this.
_PLAIN_TOTP = re.compile(r"[A-Z2-7]{16,64}=*")


class DataKeyError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def derived_key(secret_key: str) -> str:
    """The Fernet key derived from the app's secret key (HKDF-SHA256, its own context)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw).decode("ascii")


def check_key(key: str) -> None:
    """Raise ValueError unless key is a Fernet key (32 bytes, URL-safe base64)."""
    Fernet(key.encode("ascii", "replace"))


def looks_plain(stored: str) -> bool:
    """True for a TOTP secret stored before encryption (migration 0015 encrypts those)."""
    return _PLAIN_TOTP.fullmatch(stored) is not None


class DataCipher:
    """Encrypt with the first key, decrypt with any."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one data key is needed")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii", "replace")).decode("utf-8")
        except InvalidToken:
            raise DataKeyError(
                "a stored secret cannot be decrypted: check TELESPINE_DATA_KEY and TELESPINE_SECRET_KEY"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii", "replace")).decode("ascii")
        except InvalidToken:
            raise DataKeyError("a stored secret cannot be decrypted with any configured key") from None


@functools.lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> DataCipher:
    return DataCipher(keys)


def keys_of(settings: Settings) -> tuple[str, ...]:
    """The data keys of these settings, the one that encrypts first."""
    dedicated = tuple(k.get_secret_value() for k in settings.data_key)
    return (*dedicated, derived_key(settings.secret_key.get_secret_value()))


def cipher_for(settings: Settings) -> DataCipher:
    return _cipher(keys_of(settings))
