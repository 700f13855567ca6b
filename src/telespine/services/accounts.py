"""Account flows shared by pages, API and worker: sign-up, password change and reset, data export,
the second step of sign-in with recovery codes, turning two-step sign-in on, an admin's reset of
another account's two-step sign-in and the reminder address; each writes its audit row."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from telespine.settings import Settings
from telespine.store import repo, repo_accounts, repo_care
from telespine.store.accounts import HashBusy, check_new_password, verify_password
from telespine.store.datakeys import DataCipher
from telespine.store.models import Assessment, Clinic, Profile, User, VisitRequest
from telespine.store.models_accounts import PasswordReset

log = logging.getLogger("telespine.accounts")

RESET_SUBJECT = "Reset your telespine password"


class WrongPassword(ValueError):
    """The current password given to change it is not the account's."""


def change_password(db: Session, user: User, current: str, new: str, counter: str) -> None:
    """Change a signed-in user's password (page and API): check the current one and the new one,
    store the new hash (which ends every session of the account), clear the attempt counter and
    write the audit row; committed. Raises WrongPassword, PasswordRejected or HashBusy, with
    nothing written."""
    if not verify_password(user.password_hash, current):
        raise WrongPassword("the current password is not right")
    check_new_password(new, user.username)
    repo_accounts.set_password(db, user, new)
    repo_accounts.reset_counter(db, counter)
    repo.audit(db, actor=user, action="update", object_type="password", object_id=user.id)
    db.commit()


def sign_out_everywhere(db: Session, user: User) -> None:
    """End every session of the account (page and API), then write its audit row. The sessions
    end in their own commit first: a failing audit insert must not keep a stolen session alive."""
    repo_accounts.end_sessions(db, user)
    db.commit()
    repo.audit(db, actor=user, action="logout", object_type="account", object_id=user.id, detail="everywhere")
    db.commit()


def sign_up(
    db: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str,
    clinic: Clinic | None,
    child_name: str = "",
) -> User:
    """A new account (the caller checked the name and the password): patients and parents get their
    own profile, a parent who named a child also the child's; with its audit rows, committed.
    Raises HashBusy (rolled back, nothing written)."""
    from telespine.services import profiles

    try:
        user = repo.create_user(
            db,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            clinic=clinic,
        )
    except HashBusy:
        db.rollback()
        raise
    if role == "parent" and child_name.strip():
        profiles.add_child(db, user, child_name)
    repo.audit(db, actor=user, action="create", object_type="account", object_id=user.id)
    db.commit()
    return user


class ResetSpent(Exception):
    """The password reset link was spent meanwhile (another use of it won)."""


def request_reset(db: Session, username: str) -> None:
    """A pending reset for the account's reminder address (none for an unknown account or one
    without an address), audited without the account; committed with the caller's attempt count.
    The worker sends the e-mail (send_resets)."""
    reset = repo_accounts.request_reset(db, username)
    if reset is not None:
        repo.audit(db, actor=None, action="create", object_type="password_reset", object_id=reset.id)
    db.commit()


def reset_password(db: Session, reset: PasswordReset, user: User, new: str, now: dt.datetime) -> None:
    """Spend a valid reset link and store the new password (the caller checked it; every session
    of the account ends), audited; committed. Raises ResetSpent or HashBusy (rolled back)."""
    if not repo_accounts.use_reset(db, reset, now):
        db.rollback()
        raise ResetSpent("the reset link was used already")
    try:
        repo_accounts.set_password(db, user, new)
    except HashBusy:
        db.rollback()
        raise
    repo.audit(db, actor=user, action="update", object_type="password", object_id=user.id, detail="reset")
    db.commit()


def reset_email_body(link: str, minutes: int) -> str:
    """The reset e-mail: the link and what to do if it was not you; nothing about health."""
    return (
        "Someone asked to reset the password of your telespine account.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n{link}\n\n"
        "The link works once. If you did not ask for this, you can ignore this e-mail: "
        "your password stays the same.\n"
    )


def send_resets(
    factory: sessionmaker[Session],
    settings: Settings,
    now: dt.datetime,
    worker: str,
    send: Callable[[Settings, str, str, str], None],
) -> tuple[int, int]:
    """Claim pending reset requests, make their tokens and e-mail the links; (sent, failed)."""
    sent = failed = 0
    base = settings.public_url.rstrip("/")
    with factory() as db:
        for reset in repo_accounts.claim_resets(db, worker, now):
            token = repo_accounts.issue_token(db, reset, now, settings.password_reset_minutes)
            db.commit()  # the hash is stored before the link leaves
            link = f"{base}/password/reset?token={token}"
            try:
                send(
                    settings,
                    reset.email,
                    RESET_SUBJECT,
                    reset_email_body(link, settings.password_reset_minutes),
                )
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("password reset %s not sent: %s", reset.id, type(exc).__name__)
                repo_accounts.mark_reset(db, reset, sent=False)
                failed += 1
            else:
                repo_accounts.mark_reset(db, reset, sent=True)
                sent += 1
            db.commit()
    return sent, failed


# --- two-step sign-in: recovery codes and the admin's reset ------------------------------------


def second_step(db: Session, user: User, code: str, now: dt.datetime, cipher: DataCipher) -> str | None:
    """Check the second step of sign-in: "totp" for a right authenticator code, "recovery" for an
    unused recovery code (spent now, audited), None otherwise. The caller counts the attempt."""
    if repo_accounts.check_totp(db, user, code, now, cipher):
        return "totp"
    if repo_accounts.use_recovery_code(db, user, code, now):
        left = repo_accounts.recovery_codes_left(db, user)
        detail = f"{left} left"
        repo.audit(
            db, actor=user, action="use", object_type="recovery_code", object_id=user.id, detail=detail
        )
        return "recovery"
    return None


def signed_in(db: Session, user: User, counter: str, how: str) -> None:
    """The second step of sign-in passed ("totp" or "recovery", from second_step): clear the
    account's code counter and write the login audit row; committed."""
    repo_accounts.reset_counter(db, counter)
    detail = "two-factor" if how == "totp" else "two-factor, recovery code"
    repo.audit(db, actor=user, action="login", object_type="account", object_id=user.id, detail=detail)
    db.commit()


def two_factor_confirmed(db: Session, user: User, counter: str) -> None:
    """The first right code of a new authenticator app (the caller checked it): clear the code
    counter and audit the change; committed. The recovery codes come next (issue_recovery_codes)."""
    repo_accounts.reset_counter(db, counter)
    repo.audit(db, actor=user, action="update", object_type="two_factor", object_id=user.id)
    db.commit()


def issue_recovery_codes(db: Session, user: User, *, regenerated: bool = False) -> list[str]:
    """New recovery codes (to show once); every older code stops working. Audited, committed."""
    codes = repo_accounts.new_recovery_codes(db, user)
    repo.audit(
        db,
        actor=user,
        action="update" if regenerated else "create",
        object_type="recovery_codes",
        object_id=user.id,
        detail=f"{len(codes)} codes",
    )
    db.commit()
    return codes


class ResetRefused(Exception):
    """The admin's reset of another account's two-step sign-in was refused; `status` for the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def admin_reset_two_factor(
    db: Session,
    admin: User,
    username: str,
    admin_code: str,
    *,
    cipher: DataCipher,
    window: dt.timedelta,
    max_tries: int,
    now: dt.datetime | None = None,
) -> User:
    """An admin turns off another account's two-step sign-in (lost phone and codes): its secret and
    recovery codes go and its sessions end; at the next sign-in it sets up again (required for
    clinicians and admins). Needs the admin's own two-step sign-in and a fresh code from it (a
    code accepted in this request, once per 30 s, 5 tries a window). Audited as the admin."""
    now = now or dt.datetime.now(dt.UTC)
    if admin.role != "admin":
        raise ResetRefused(404, "Not found.")
    if not repo_accounts.totp_enabled(db, admin):
        raise ResetRefused(403, "Set up your own two-step sign-in first (Account, Security).")
    key = repo_accounts.counter_key("totp", admin.id)
    tries = repo_accounts.count_attempt(db, key, window, now)
    db.commit()
    if tries > max_tries:
        raise ResetRefused(429, "Too many wrong codes. Wait a few minutes and try again.")
    if not repo_accounts.check_totp(db, admin, admin_code, now, cipher):
        db.commit()
        repo.audit(db, actor=admin, action="denied", object_type="two_factor_reset", detail="wrong code")
        db.commit()
        raise ResetRefused(401, "Your code is not right. Use the newest code of your own app.")
    repo_accounts.reset_counter(db, key)
    target = db.scalar(select(User).where(User.username == username.strip().lower()[:64]))
    if target is None:
        db.commit()
        raise ResetRefused(404, "No such account.")
    if target.id == admin.id:
        db.commit()
        raise ResetRefused(409, "Change your own two-step sign-in on your account page.")
    had = repo_accounts.remove_totp(db, target)
    from telespine.store.models import UserSession

    db.execute(delete(UserSession).where(UserSession.user_id == target.id))
    repo.audit(
        db,
        actor=admin,
        action="reset",
        object_type="two_factor",
        object_id=target.id,
        detail="had two-step sign-in" if had else "had none",
    )
    db.commit()
    return target


def update_contact(
    db: Session,
    user: User,
    email: str,
    reminders: bool,
    *,
    timezone: str = "",
    profile_ids: Sequence[str] = (),
) -> None:
    """The reminder address (and whether reminders go to it) and, given, the time zone of the
    given profiles' cases (an IANA name the caller checked); audited, committed."""
    repo_care.set_contact(db, user, email, reminders)
    if timezone:
        # Reminders and "today" in the diary follow the patient's own day.
        repo_care.set_timezone(db, profile_ids, timezone)
    repo.audit(db, actor=user, action="update", object_type="contact", object_id=user.id)
    db.commit()


def export_own_data(db: Session, user: User) -> dict[str, Any]:
    """Everything telespine keeps about the account and the profiles it owns, as JSON-able data."""
    from telespine.services import records
    from telespine.store import repo_program
    from telespine.store.models_care import CareCase, CareMessage, ContactAddress, DiaryRecord

    profiles = list(db.scalars(select(Profile).where(Profile.owner_id == user.id)).all())
    contact = db.get(ContactAddress, user.id)

    def when(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    out_profiles = []
    for profile in profiles:
        assessments = list(db.scalars(select(Assessment).where(Assessment.profile_id == profile.id)).all())
        items = []
        for a in assessments:
            case = db.scalar(select(CareCase).where(CareCase.assessment_id == a.id))
            messages = (
                list(db.scalars(select(CareMessage).where(CareMessage.case_id == case.id)).all())
                if case
                else []
            )
            diary = (
                list(db.scalars(select(DiaryRecord).where(DiaryRecord.case_id == case.id)).all())
                if case
                else []
            )
            if case is not None:  # the download is a read of them too, audited by kind
                records.audit_read(db, user, records.MESSAGE, case, len(messages))
                records.audit_read(db, user, records.DIARY_ENTRY, case, len(diary))
            visits = list(db.scalars(select(VisitRequest).where(VisitRequest.assessment_id == a.id)).all())
            items.append(
                {
                    "id": a.id,
                    "created_at": when(a.created_at),
                    # The same assessment as a FHIR R4 Bundle (telespine.fhir), for other systems.
                    "fhir_bundle": f"/api/v1/assessments/{a.id}/fhir",
                    "versions": [
                        {
                            "version": v.version,
                            "created_at": when(v.created_at),
                            "disposition": v.disposition,
                            "safety_net": v.safety_net,
                            "findings": v.findings,
                            "answers": v.answers,
                            "result": v.result,
                            "ruleset_version": v.ruleset_version,
                        }
                        for v in a.versions
                    ],
                    "messages": [
                        {
                            "at": when(getattr(m, "created_at", None)),
                            "from_patient": m.from_patient,
                            "automatic": m.automatic,
                            "body": m.body,
                        }
                        for m in messages
                    ],
                    "diary": [_diary_row(d) for d in diary],
                    "visit_requests": [{"id": v.id, "created_at": when(v.created_at)} for v in visits],
                }
            )
        scores = repo_program.score_records(db, profile.id)
        out_profiles.append(
            {
                "id": profile.id,
                "display_name": profile.display_name,
                "is_child": profile.is_child,
                "assessments": items,
                "scores": [
                    {
                        "instrument": s.instrument_id,
                        "version": s.version,
                        "scores": s.scores,
                        "category": s.category,
                        "responses": s.responses,
                        "taken_at": when(s.taken_at),
                    }
                    for s in scores
                ],
            }
        )
    repo.audit(db, actor=user, action="export", object_type="account", object_id=user.id)
    db.commit()
    return {
        "format": "telespine-export-1",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "account": {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "created_at": when(user.created_at),
            "email": contact.email if contact is not None else None,
        },
        "profiles": out_profiles,
    }


def _diary_row(d: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("day", "pain", "function", "medicine_use", "red_flag_check", "note", "created_at"):
        value: Any = getattr(d, key, None)
        out[key] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
    return out
