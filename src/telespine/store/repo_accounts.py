"""Account security in the database: atomic attempt counters (login, sign-up, reset requests).

A counter row per key holds the attempts of the current fixed window. `count_attempt` adds one
and returns the new count in a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so two
requests (threads, workers or machines) never read the same old count: the database orders
them. Works on SQLite (3.35 or later) and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Table, case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from telespine.store.datakeys import DataCipher, DataKeyError, looks_plain
from telespine.store.models import User, UserSession, UTCDateTime, utcnow
from telespine.store.models_accounts import LoginCounter, PasswordReset, RecoveryCode, TotpCredential
from telespine.store.models_care import ContactAddress

log = logging.getLogger("telespine.accounts")
_T: Table = LoginCounter.__table__  # type: ignore[assignment]
KEY_LENGTH = 200


def counter_key(kind: str, *parts: str) -> str:
    return ":".join((kind, *(p.replace(":", "_") for p in parts)))[:KEY_LENGTH]


def count_attempt(db: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    """Add one attempt to key's window (a new window when the old one is over); the new count.

    Runs in the caller's transaction: commit right after, before any slow work, so that the row
    lock on PostgreSQL is held only for the statement.
    """
    now = now or utcnow()
    cut = now - window
    at = literal(now, type_=UTCDateTime())
    over = _T.c.window_start < literal(cut, type_=UTCDateTime())
    insert = (postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert)(_T)
    stmt = (
        insert.values(key=key[:KEY_LENGTH], count=1, window_start=at)
        .on_conflict_do_update(
            index_elements=[_T.c.key],
            set_={
                "count": case((over, 1), else_=_T.c.count + 1),
                "window_start": case((over, at), else_=_T.c.window_start),
            },
        )
        .returning(_T.c.count)
    )
    return int(db.execute(stmt).scalar_one())


def reset_counter(db: Session, key: str) -> None:
    """Start the key's count again (a successful sign-in clears that pair's failures)."""
    db.execute(update(_T).where(_T.c.key == key[:KEY_LENGTH]).values(count=0))


def refund_attempt(db: Session, key: str) -> None:
    """Take back one attempt (a successful sign-in is not a failure of its address)."""
    db.execute(update(_T).where(_T.c.key == key[:KEY_LENGTH], _T.c.count > 0).values(count=_T.c.count - 1))


def current_count(db: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    """The count of key's current window, without adding to it."""
    row = db.get(LoginCounter, key[:KEY_LENGTH])
    if row is None or row.window_start < (now or utcnow()) - window:
        return 0
    return row.count


# --- passwords, sessions -----------------------------------------------------------------------


def set_password(db: Session, user: User, new_password: str) -> None:
    """Store a new argon2id hash (the caller checked the policy) and end every session of the user."""
    from telespine.store.accounts import hash_password

    user.password_hash = hash_password(new_password)
    end_sessions(db, user)


def end_sessions(db: Session, user: User) -> None:
    """Delete every session of the user (not committed)."""
    db.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.flush()


# --- password reset by e-mail (sent by the worker) -------------------------------------------

RESET_TRIES = 3


def request_reset(db: Session, username: str) -> PasswordReset | None:
    """A pending reset for the account's reminder address; None when there is no such account or
    address (the page answers the same either way, so nobody learns which accounts exist)."""
    user = db.scalar(select(User).where(User.username == username.strip().lower()[:64]))
    if user is None or not user.active:
        return None
    contact = db.get(ContactAddress, user.id)
    if contact is None or not contact.email:
        return None
    reset = PasswordReset(user_id=user.id, email=contact.email)
    db.add(reset)
    db.flush()
    return reset


def claim_resets(db: Session, worker: str, now: datetime, limit: int = 20) -> list[PasswordReset]:
    """Pending resets this worker won (a conditional UPDATE: of several workers one wins each)."""
    ids = list(
        db.scalars(
            select(PasswordReset.id)
            .where(PasswordReset.status == "pending")
            .order_by(PasswordReset.requested_at)
            .limit(limit)
        ).all()
    )
    won: list[PasswordReset] = []
    for reset_id in ids:
        result = db.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset_id, PasswordReset.status == "pending")
            .values(status="claimed", claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        db.commit()
        if getattr(result, "rowcount", 0) == 1:
            row = db.get(PasswordReset, reset_id, populate_existing=True)
            if row is not None:
                won.append(row)
    return won


def issue_token(db: Session, reset: PasswordReset, now: datetime, minutes: int) -> str:
    """A new single-use token for the e-mail; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    reset.token_hash = hashlib.sha256(token.encode("ascii")).hexdigest()
    reset.expires_at = now + timedelta(minutes=minutes)
    db.flush()
    return token


def mark_reset(db: Session, reset: PasswordReset, sent: bool) -> None:
    if sent:
        reset.status = "sent"
    else:
        reset.tries += 1
        reset.token_hash = None  # that link never left: it must not work later
        reset.status = "failed" if reset.tries >= RESET_TRIES else "pending"
    db.flush()


def reset_for_token(db: Session, token: str, now: datetime) -> PasswordReset | None:
    """The usable reset of a token (sent, not used, not expired), else None."""
    if not token or len(token) > 128:
        return None
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    row = db.scalar(select(PasswordReset).where(PasswordReset.token_hash == digest))
    if row is None or row.used_at is not None or row.expires_at is None or row.expires_at <= now:
        return None
    return row


def use_reset(db: Session, reset: PasswordReset, now: datetime) -> bool:
    """Spend the reset: one conditional UPDATE, so two uses of one link cannot both win."""
    result = db.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


# --- two-factor sign-in (TOTP) ---------------------------------------------------------------
# The secret is stored encrypted (telespine.store.datakeys): each function that needs it takes
# the cipher of the app's settings (datakeys.cipher_for(settings)).


def totp_of(db: Session, user: User) -> TotpCredential | None:
    return db.get(TotpCredential, user.id)


def totp_enabled(db: Session, user: User) -> bool:
    cred = totp_of(db, user)
    return cred is not None and cred.confirmed_at is not None


def start_totp(db: Session, user: User, cipher: DataCipher) -> TotpCredential:
    """The account's secret: made on first use, kept (also unconfirmed) so a reload shows the same."""
    import pyotp

    cred = totp_of(db, user)
    if cred is None:
        cred = TotpCredential(user_id=user.id, secret=cipher.encrypt(pyotp.random_base32()))
        db.add(cred)
        db.flush()
    return cred


def totp_secret(cred: TotpCredential, cipher: DataCipher) -> str:
    """The secret in clear (for the set-up page and the code check); raises DataKeyError."""
    return cipher.decrypt(cred.secret)


def check_totp(db: Session, user: User, code: str, now: datetime, cipher: DataCipher) -> bool:
    """True for a right code of the current or a neighbouring 30-second step, once per step."""
    import pyotp

    cred = totp_of(db, user)
    code = "".join(ch for ch in code if ch.isdigit())
    if cred is None or len(code) != 6:
        return False
    try:
        secret = totp_secret(cred, cipher)
    except DataKeyError:
        log.error("two-step sign-in secret of %s cannot be decrypted: check the data keys", user.id)
        return False
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            # Each step's code works once (a code seen over a shoulder cannot be replayed).
            result = db.execute(
                update(TotpCredential)
                .where(TotpCredential.user_id == user.id, TotpCredential.last_step < candidate)
                .values(last_step=candidate)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return False
            if cred.confirmed_at is None:
                cred.confirmed_at = now
            db.flush()
            return True
    return False


def totp_uri(cred: TotpCredential, user: User, cipher: DataCipher, issuer: str = "telespine") -> str:
    import pyotp

    return pyotp.TOTP(totp_secret(cred, cipher)).provisioning_uri(name=user.username, issuer_name=issuer)


def remove_totp(db: Session, user: User) -> bool:
    """Turn two-step sign-in off for an account: its secret and recovery codes go. True if it had one."""
    gone = db.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id))
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.flush()
    return getattr(gone, "rowcount", 0) > 0


def rotate_totp_secrets(db: Session, cipher: DataCipher) -> tuple[int, int]:
    """Re-encrypt every stored secret with the cipher's first key; (rotated, unreadable)."""
    done = bad = 0
    for cred in db.scalars(select(TotpCredential)).all():
        try:
            plain = looks_plain(cred.secret)
            cred.secret = cipher.encrypt(cred.secret) if plain else cipher.rotate(cred.secret)
        except DataKeyError:
            bad += 1
            continue
        done += 1
    db.flush()
    return done, bad


# --- recovery codes ---------------------------------------------------------------------------
# Ten codes of 10 characters (about 49 bits each) from an alphabet without look-alikes. The
# codes are random, not chosen by people, so a light argon2id (4 MiB, 2 passes) is enough; the
# sign-in code counter (5 tries a window) bounds guessing further.

RECOVERY_CODES = 10
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_LENGTH = 10
_recovery_hasher = PasswordHasher(time_cost=2, memory_cost=4096, parallelism=1)


def normal_recovery_code(code: str) -> str:
    """Upper case without spaces or dashes: "abcde-fghjk" and "ABCDEFGHJK" are the same code."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def looks_like_recovery_code(code: str) -> bool:
    plain = normal_recovery_code(code)
    return len(plain) == RECOVERY_LENGTH and all(ch in RECOVERY_ALPHABET for ch in plain)


def new_recovery_codes(db: Session, user: User, now: datetime | None = None) -> list[str]:
    """New codes for the account (shown once by the caller); every older code stops working."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        plain = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        code_hash = _recovery_hasher.hash(plain)
        db.add(RecoveryCode(user_id=user.id, code_hash=code_hash, created_at=now or utcnow()))
        codes.append(f"{plain[:5]}-{plain[5:]}")
    db.flush()
    return codes


def recovery_codes_left(db: Session, user: User) -> int:
    return len(
        db.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def use_recovery_code(db: Session, user: User, code: str, now: datetime) -> bool:
    """Spend one unused code of the account: True once per code (a conditional UPDATE)."""
    if not looks_like_recovery_code(code):
        return False
    plain = normal_recovery_code(code)
    rows = db.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for row in rows:
        try:
            _recovery_hasher.verify(row.code_hash, plain)
        except (VerifyMismatchError, InvalidHashError):
            continue
        result = db.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.flush()
        return getattr(result, "rowcount", 0) == 1
    return False
