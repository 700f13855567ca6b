"""Authorization in one place: who may see or change which profile, assessment and visit request.

Routes never check roles themselves; they depend on the loaders here, which answer 404 (never
403) for objects the caller may not see, so that a denial reveals nothing, and write the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from telespine.services import profiles, reads
from telespine.store import repo, repo_care
from telespine.store.models import Assessment, Profile, User, VisitRequest
from telespine.store.models_care import CareCase, VisitBooking
from telespine.triage.types import Disposition
from telespine.web.deps import DbDep, RequiredUser

NOT_FOUND = "Not found."


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail=NOT_FOUND)


def can_read_profile(user: User, profile: Profile) -> bool:
    """Own and own children's records; a clinician, their clinic's. Admins audit but read no records."""
    if user.role in ("patient", "parent"):
        return profile.owner_id == user.id
    if user.role == "clinician":
        return user.clinic_id is not None and profile.clinic_id == user.clinic_id
    return False


def can_write_profile(user: User, profile: Profile) -> bool:
    """Only the account holder (or the parent, for a child) adds assessments and requests visits."""
    return can_save_assessments(user) and profile.owner_id == user.id


def can_search_audit(user: User) -> bool:
    return user.role == "admin"


def can_manage_children(user: User) -> bool:
    return user.role == "parent"


def can_see_rule_details(user: User) -> bool:
    """Clinicians see rule ids, rationales and sources on a saved assessment; patients see reasons."""
    return user.role == "clinician"


def can_save_assessments(user: User) -> bool:
    """Patients and parents keep assessments; clinicians and admins never file one of their own."""
    return user.role in ("patient", "parent")


# A tele-visit fits only results that telemedicine can handle (audit S4): never an emergency,
# urgent or prompt result, and never a safety net, whatever a hand-made request asks for.
VISIT_REFUSED = (
    "A tele-visit cannot be requested for this result: it needs care in person. "
    "Follow the advice shown with the result."
)


_DISPOSITION_VALUES = frozenset(d.value for d in Disposition)


def visit_fits(disposition: str, safety_net: bool) -> bool:
    """True when a tele-visit may be requested for a result with this disposition."""
    if safety_net or disposition not in _DISPOSITION_VALUES:
        return False
    return Disposition(disposition).allows_telemedicine


def shown_disposition(assessment: Assessment) -> str:
    """What the patient is told: the more urgent of the latest engine result and a clinician's
    latest override (repo_care.patient_disposition); the engine's when there is no override."""
    db = object_session(assessment)
    shown = repo_care.patient_disposition_for_assessment(db, assessment.id) if db is not None else None
    return shown or assessment.latest.disposition


def can_request_visit(user: User, assessment: Assessment) -> bool:
    """The patient or parent, for an assessment whose latest result (or a clinician's more urgent
    override of it) is telemedicine or routine."""
    latest = assessment.latest
    return can_write_profile(user, assessment.profile) and visit_fits(
        shown_disposition(assessment), latest.safety_net
    )


def ensure_visit_allowed(user: User, assessment: Assessment) -> None:
    """409 unless a tele-visit may be requested (callers have already checked write access)."""
    if not can_request_visit(user, assessment):
        raise HTTPException(status_code=409, detail=VISIT_REFUSED)


def child_profile_for_check(db: Session, user: User) -> Profile:
    """Where a check about a child is saved: a parent's child profile (made if there is none).

    Never the adult's own record; other accounts are told to use a parent account.
    """
    if not can_manage_children(user):
        raise HTTPException(
            status_code=400, detail="To save a check about your child, sign in with a parent account."
        )
    return profiles.child_profile(db, user)


def readable_profile_ids(db: Session, user: User) -> list[str]:
    """Every profile id the user may read."""
    if user.role in ("patient", "parent"):
        return list(db.scalars(select(Profile.id).where(Profile.owner_id == user.id)).all())
    if user.role == "clinician" and user.clinic_id is not None:
        return list(db.scalars(select(Profile.id).where(Profile.clinic_id == user.clinic_id)).all())
    return []


def readable_assessments(db: Session, user: User) -> list[Assessment]:
    """The assessments a user may list, audited as one list read."""
    return reads.assessments(db, user, readable_profile_ids(db, user))


def load_profile_for_write(db: Session, user: User, profile_id: str | None) -> Profile:
    """The profile an assessment is saved to: the given one if the user may write it, else 404."""
    if profile_id is None:
        if not can_save_assessments(user):
            raise HTTPException(status_code=403, detail="Only patients and parents save assessments.")
        return repo.ensure_self_profile(db, user)
    profile = db.get(Profile, profile_id)
    if profile is None or not can_write_profile(user, profile):
        raise _not_found()
    return profile


def get_readable_assessment(assessment_id: str, db: DbDep, user: RequiredUser) -> Assessment:
    """Dependency: the assessment if the caller may read it (audited), else 404."""
    assessment = repo.get_assessment(db, assessment_id[:64])
    if assessment is None or not can_read_profile(user, assessment.profile):
        raise _not_found()
    reads.record_read(db, user, "assessment", assessment.id, assessment.profile_id)
    return assessment


def get_writable_assessment(assessment_id: str, db: DbDep, user: RequiredUser) -> Assessment:
    """Dependency: the assessment if the caller may change it; 404 if they may not even see it."""
    assessment = repo.get_assessment(db, assessment_id[:64])
    if assessment is None or not can_read_profile(user, assessment.profile):
        raise _not_found()
    if not can_write_profile(user, assessment.profile):
        raise HTTPException(status_code=403, detail="Only the patient or parent can change this assessment.")
    return assessment


def get_readable_visit(visit_id: str, db: DbDep, user: RequiredUser) -> VisitRequest:
    visit = repo.get_visit(db, visit_id[:64])
    if visit is None or not can_read_profile(user, visit.assessment.profile):
        raise _not_found()
    reads.record_read(db, user, "visit_request", visit.id, visit.assessment.profile_id)
    return visit


def get_readable_profile(profile_id: str, db: DbDep, user: RequiredUser) -> Profile:
    """Dependency: the profile if the caller may read its records, else 404 (the route audits)."""
    profile = db.get(Profile, profile_id[:64])
    if profile is None or not can_read_profile(user, profile):
        raise _not_found()
    return profile


def get_writable_profile(profile_id: str, db: DbDep, user: RequiredUser) -> Profile:
    """Dependency: the profile if the caller may add records to it; 404 if they may not even see it."""
    profile = db.get(Profile, profile_id[:64])
    if profile is None or not can_read_profile(user, profile):
        raise _not_found()
    if not can_write_profile(user, profile):
        raise HTTPException(status_code=403, detail="Only the patient or parent can add records here.")
    return profile


def require_parent(user: RequiredUser) -> User:
    """Dependency: a parent account (the only one that manages child profiles), else 403."""
    if not can_manage_children(user):
        raise HTTPException(status_code=403, detail="Only parent accounts manage child profiles.")
    return user


def require_admin(user: RequiredUser) -> User:
    if not can_search_audit(user):
        raise _not_found()
    return user


def require_clinician(user: RequiredUser) -> User:
    if user.role != "clinician":
        raise _not_found()
    return user


# --- cases of the clinician workspace (issue 6) ---------------------------------------------


def can_work_case(user: User, case: CareCase) -> bool:
    """Clinicians of the case's clinic claim, override, book, note and acknowledge."""
    return user.role == "clinician" and user.clinic_id is not None and case.clinic_id == user.clinic_id


def get_readable_case(case_id: str, db: DbDep, user: RequiredUser) -> CareCase:
    """Dependency: the case if the caller may read its profile (audited), else 404."""
    case = repo_care.get_case(db, case_id[:64])
    if case is None or not can_read_profile(user, case.assessment.profile):
        raise _not_found()
    reads.record_read(db, user, "case", case.id, case.profile_id)
    return case


def get_clinician_case(case: Annotated[CareCase, Depends(get_readable_case)], user: RequiredUser) -> CareCase:
    """Dependency: a case the caller works on as a clinician of its clinic; 404 for anyone else."""
    if not can_work_case(user, case):
        raise _not_found()
    return case


def get_patient_case(case: Annotated[CareCase, Depends(get_readable_case)], user: RequiredUser) -> CareCase:
    """Dependency: a case whose patient (or parent) the caller is; others who may read it get 403."""
    if not can_write_profile(user, case.assessment.profile):
        raise HTTPException(status_code=403, detail="Only the patient or parent can do this.")
    return case


def get_readable_booking(booking_id: str, db: DbDep, user: RequiredUser) -> VisitBooking:
    """Dependency: a booked visit of a case the caller may read (audited), else 404."""
    booking = repo_care.get_booking(db, booking_id[:64])
    case = repo_care.get_case(db, booking.case_id) if booking is not None else None
    if booking is None or case is None or not can_read_profile(user, case.assessment.profile):
        raise _not_found()
    reads.record_read(db, user, "visit", booking.id, case.profile_id)
    return booking


# --- the video visit (issue 11) ---------------------------------------------------------------


def visit_role(user: User, booking: VisitBooking, case: CareCase) -> str | None:
    """ "clinician" for the booking's own clinician (of the case's clinic), "patient" for the
    patient or parent; None for everyone else (other clinicians of the clinic included)."""
    if user.role == "clinician" and booking.clinician_id == user.id and can_work_case(user, case):
        return "clinician"
    if can_write_profile(user, case.assessment.profile):
        return "patient"
    return None


def call_allowed(case: CareCase) -> bool:
    """A call only while the level the patient is shown still fits a tele-visit (never after an
    escalation to emergency, urgent or prompt care)."""
    latest = case.assessment.latest
    return visit_fits(shown_disposition(case.assessment), latest.safety_net)


def get_joinable_booking(
    booking: Annotated[VisitBooking, Depends(get_readable_booking)], user: RequiredUser, db: DbDep
) -> VisitBooking:
    """Dependency: a booked (not finished) visit the caller takes part in, else 404."""
    case = repo_care.get_case(db, booking.case_id)
    if case is None or booking.status != "booked" or visit_role(user, booking, case) is None:
        raise _not_found()
    return booking


def require_feedback_reader(user: RequiredUser) -> User:
    """Rule-set feedback: clinicians (their clinic's) and admins (all, without free text)."""
    if user.role not in ("clinician", "admin"):
        raise _not_found()
    return user


ReadableCase = Annotated[CareCase, Depends(get_readable_case)]
ClinicianCase = Annotated[CareCase, Depends(get_clinician_case)]
PatientCase = Annotated[CareCase, Depends(get_patient_case)]
ReadableBooking = Annotated[VisitBooking, Depends(get_readable_booking)]
JoinableBooking = Annotated[VisitBooking, Depends(get_joinable_booking)]
FeedbackReader = Annotated[User, Depends(require_feedback_reader)]
ReadableAssessment = Annotated[Assessment, Depends(get_readable_assessment)]
WritableAssessment = Annotated[Assessment, Depends(get_writable_assessment)]
ReadableVisit = Annotated[VisitRequest, Depends(get_readable_visit)]
AdminUser = Annotated[User, Depends(require_admin)]
ClinicianUser = Annotated[User, Depends(require_clinician)]
ParentUser = Annotated[User, Depends(require_parent)]
ReadableProfile = Annotated[Profile, Depends(get_readable_profile)]
WritableProfile = Annotated[Profile, Depends(get_writable_profile)]
