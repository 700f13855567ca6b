"""Passwords: argon2id hashes, a length rule and a bundled list of common passwords (no composition rules)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
# Bounds the hashing work one request can cause; long passphrases stay welcome.
MAX_PASSWORD_LENGTH = 256

PRODUCTION_HASHER = PasswordHasher()  # argon2id with the library's recommended parameters (64 MiB, t=3)
_hasher = PRODUCTION_HASHER  # the test suite swaps in cheap parameters for speed


class PasswordRejected(ValueError):
    """A new password that the policy refuses; the message is safe to show the person."""


class HashBusy(RuntimeError):
    """Every hashing slot of this process stayed busy for the whole wait: answer 503, retry later."""


# argon2id takes 64 MiB and most of a core per hash: unbounded, 60 parallel sign-ins grew two
# workers to 2 GB. A few slots per process; the rest wait briefly, then get HashBusy.
_slots = threading.BoundedSemaphore(2)
_slot_wait = 5.0


def configure_hash_slots(slots: int, wait_seconds: float) -> None:
    """Set how many hashes this process computes at once and how long a caller waits for a slot."""
    global _slots, _slot_wait
    _slots = threading.BoundedSemaphore(max(1, slots))
    _slot_wait = max(0.0, wait_seconds)


@contextmanager
def hash_slot() -> Iterator[None]:
    """Hold one hashing slot of this process, or raise HashBusy after the wait."""
    slots = _slots
    if not slots.acquire(timeout=_slot_wait):
        raise HashBusy("password hashing is busy")
    try:
        yield
    finally:
        slots.release()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (data/common-passwords.txt), lower-cased."""
    text = resources.files("telespine.store").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_new_password(password: str, username: str = "") -> None:
    """Raise PasswordRejected unless password is long enough and not common or the username."""
    if not password.strip():
        raise PasswordRejected("Your password cannot be only spaces.")
    if len(password.strip()) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if password.lower() in common_passwords():
        raise PasswordRejected("This password is too common. Pick another one, a short phrase works well.")
    if username and password.lower() == username.lower():
        raise PasswordRejected("Your password must not be your user name.")


def hash_password(password: str) -> str:
    """The argon2id hash; may raise HashBusy when every slot of this process stays busy."""
    with hash_slot():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when password matches; never raises for a wrong password or a damaged hash.

    Raises HashBusy when no hashing slot came free in time (the caller answers 503)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    with hash_slot():
        try:
            # verify() reads the parameters from the hash, so either hasher checks any stored hash.
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


# A real hash to verify against when the account does not exist, so that the response time
# does not reveal which user names exist.
_DUMMY_HASH = PRODUCTION_HASHER.hash("telespine-timing-equaliser")


def verify_dummy(password: str) -> None:
    verify_password(_DUMMY_HASH, password)
