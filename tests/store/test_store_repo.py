"""Repositories: append-only assessments, the audit log, login counting and the password policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from telespine.store import repo
from telespine.store.accounts import (
    PasswordRejected,
    check_new_password,
    common_passwords,
    hash_password,
    verify_password,
)
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AppendOnlyError, AssessmentVersion, AuditEvent
from telespine.triage import triage


@pytest.fixture
def db(clean_db: str):  # type: ignore[no-untyped-def]
    engine = make_engine(clean_db)
    session = make_sessionmaker(engine)()
    yield session
    session.rollback()
    session.close()
    engine.dispose()


def _patient(db):  # type: ignore[no-untyped-def]
    clinic = repo.create_clinic(db, "Clinic A")
    return repo.create_user(
        db, username="Alice", password="a long pass phrase", role="patient", clinic=clinic
    )


def test_assessment_saved_with_result_and_ruleset(db) -> None:  # type: ignore[no-untyped-def]
    alice = _patient(db)
    findings = {"age_years": 40, "saddle_numbness": True}
    result = triage(findings)
    saved = repo.save_assessment(
        db, profile=repo.self_profile(db, alice), by=alice, findings=findings, result=result
    )
    db.commit()
    again = repo.get_assessment(db, saved.id)
    assert again is not None
    v = again.latest
    assert (v.version, v.disposition, v.findings) == (1, "emergency", findings)
    assert v.ruleset_version == result.ruleset.version and v.ruleset_sha256 == result.ruleset.sha256
    assert v.result["rules"][0]["id"] == "adult.cauda_equina"
    assert v.created_at.tzinfo is not None


def test_a_change_is_a_new_version_and_saved_versions_cannot_change(db) -> None:  # type: ignore[no-untyped-def]
    alice = _patient(db)
    first = {"age_years": 40}
    saved = repo.save_assessment(
        db, profile=repo.self_profile(db, alice), by=alice, findings=first, result=triage(first)
    )
    second = {"age_years": 40, "fever": True}
    v2 = repo.add_version(db, assessment=saved, by=alice, findings=second, result=triage(second))
    db.commit()
    rows = db.scalars(select(AssessmentVersion).order_by(AssessmentVersion.version)).all()
    assert [(r.version, r.findings) for r in rows] == [(1, first), (2, second)]
    assert v2.disposition != rows[0].disposition
    rows[0].disposition = "telemedicine"
    with pytest.raises(AppendOnlyError):
        db.flush()
    db.rollback()
    with pytest.raises(AppendOnlyError):
        db.delete(db.scalars(select(AssessmentVersion)).first())
        db.flush()


def test_audit_search_filters_by_actor_object_and_action(db) -> None:  # type: ignore[no-untyped-def]
    alice = _patient(db)
    repo.audit(db, actor=alice, action="read", object_type="assessment", object_id="a1", profile_id="p1")
    repo.audit(db, actor=alice, action="create", object_type="assessment", object_id="a2", profile_id="p1")
    repo.audit(db, actor=None, action="read", object_type="assessment", object_id="a3")
    db.commit()
    assert [e.object_id for e in repo.search_audit(db, actor="ALICE")] == ["a2", "a1"]
    assert [e.object_id for e in repo.search_audit(db, object_id="p1", action="read")] == ["a1"]
    assert len(repo.search_audit(db, limit=2)) == 2
    event = db.scalars(select(AuditEvent)).first()
    assert event is not None
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        db.flush()


def test_failed_logins_are_counted_per_account_address_pair_and_per_address(db) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        repo.record_login_attempt(db, username="alice", ip="10.0.0.1", success=False)
    repo.record_login_attempt(db, username="bob", ip="10.0.0.1", success=False)
    repo.record_login_attempt(db, username="alice", ip="10.0.0.2", success=True)
    for _ in range(2):
        repo.record_login_attempt(db, username="alice", ip="10.0.0.3", success=False)
    db.commit()
    window = timedelta(minutes=5)
    assert repo.recent_failures(db, username="Alice", ip="10.0.0.1", window=window) == (3, 4)
    assert repo.recent_failures(db, username="alice", ip="10.0.0.3", window=window) == (2, 2)
    assert repo.recent_failures(db, username="alice", ip="10.0.0.2", window=window) == (0, 0)
    assert repo.recent_failures(db, username="carol", ip="10.0.0.9", window=window) == (0, 0)


def test_password_hashes_are_argon2id_and_verify() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse batterY")
    assert not verify_password("not a hash", "anything at all")


def test_production_hash_parameters_are_strong() -> None:
    from telespine.store.accounts import PRODUCTION_HASHER

    # OWASP's argon2id minimum: 19 MiB of memory and 2 iterations.
    assert PRODUCTION_HASHER.memory_cost >= 19 * 1024 and PRODUCTION_HASHER.time_cost >= 2
    assert PRODUCTION_HASHER.hash("x y z w v u").startswith("$argon2id$")


@pytest.mark.parametrize("password", ["short", "password", "iloveyou1", "12345678", "Qwertyuiop"])
def test_short_and_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(PasswordRejected):
        check_new_password(password)


def test_long_uncommon_passwords_need_no_composition_rules() -> None:
    check_new_password("plain lowercase words")  # no digits or symbols needed
    with pytest.raises(PasswordRejected):
        check_new_password("alice123", username="ALICE123")
    assert len(common_passwords()) > 5000
