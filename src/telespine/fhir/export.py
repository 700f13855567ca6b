"""One FHIR R4 transaction Bundle per saved assessment.

Everything about one assessment goes into one Bundle, so that a FHIR server takes it in one
POST: the person (Patient, and RelatedPerson for a child's parent), the answers
(QuestionnaireResponse), the disposition (ClinicalImpression), scores (Observation), the
STarT Back stratification (RiskAssessment), the back pain (Condition), the self-care program
(CarePlan), visits (Appointment, Encounter), messages (Communication) and who made each
(Provenance). Entries are PUT with stable ids, so sending a Bundle again updates, never
duplicates.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryRequest
from fhir.resources.R4B.careplan import CarePlan, CarePlanActivity, CarePlanActivityDetail
from fhir.resources.R4B.clinicalimpression import ClinicalImpression, ClinicalImpressionFinding
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.communication import Communication, CommunicationPayload
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.provenance import Provenance, ProvenanceAgent
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.relatedperson import RelatedPerson
from fhir.resources.R4B.riskassessment import RiskAssessment, RiskAssessmentPrediction
from sqlalchemy import select
from sqlalchemy.orm import Session

from telespine.fhir import terms
from telespine.fhir.responses import answers_from_findings, response_items
from telespine.instruments import load_instrument
from telespine.store.models import Assessment, AssessmentVersion, Profile, User, VisitRequest
from telespine.store.models_care import CareCase, CareMessage, DispositionOverride, VisitBooking
from telespine.store.models_program import PlanAnswersRecord, ScoreRow
from telespine.triage.types import Audience, Disposition, TriageResult

_NS = uuid.UUID("6f1d2a52-2f4e-4d59-9a55-0e5b1f0c7a11")  # telespine's namespace for stable FHIR ids
SURVEY = CodeableConcept(
    coding=[Coding(system="http://terminology.hl7.org/CodeSystem/observation-category", code="survey")]
)
RISK = {"low": "low", "medium": "moderate", "high": "high"}  # STarT Back -> risk-probability
ENGINE = "telespine triage engine"


def stable_id(*parts: str) -> str:
    """A FHIR id that is the same for the same object at every export."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


class _Builder:
    def __init__(self) -> None:
        self.entries: list[BundleEntry] = []
        self.refs: dict[str, str] = {}

    def add(self, resource: Any) -> Reference:
        kind = resource.get_resource_type()
        full = f"urn:uuid:{resource.id}"
        self.entries.append(
            BundleEntry(
                fullUrl=full,
                resource=resource,
                request=BundleEntryRequest(method="PUT", url=f"{kind}/{resource.id}"),
            )
        )
        return Reference(reference=full, type=kind)


def _audience(version: AssessmentVersion, profile: Profile) -> Audience:
    aud = version.result.get("audience")
    if aud in ("adult", "pediatric"):
        return "pediatric" if aud == "pediatric" else "adult"
    age = version.findings.get("age_years")
    if isinstance(age, int | float):
        return "pediatric" if age < 18 else "adult"
    return "pediatric" if profile.is_child else "adult"


def _user_ref(user: User | None, actors: dict[str, Reference]) -> Reference:
    if user is None:
        return Reference(display="unknown")
    if user.id in actors:
        return actors[user.id]
    return Reference(
        display=f"{user.display_name} ({user.role})",
        identifier=Identifier(system=terms.USER_ID_SYSTEM, value=user.id),
    )


def assessment_bundle(db: Session, assessment: Assessment, now: dt.datetime | None = None) -> Bundle:
    """The transaction Bundle of one saved assessment (its latest version)."""
    now = now or dt.datetime.now(dt.UTC)
    b = _Builder()
    version = assessment.latest
    profile = assessment.profile
    owner = db.get(User, profile.owner_id)
    audience = _audience(version, profile)
    result = TriageResult.model_validate(version.result)
    findings: dict[str, Any] = dict(version.findings)

    # ---- people
    sex = findings.get("sex")
    patient = Patient(
        id=profile.id,
        identifier=[Identifier(system=terms.PROFILE_ID_SYSTEM, value=profile.id)],
        name=[HumanName(text=profile.display_name)],
        gender={"female": "female", "male": "male", "other": "other"}.get(str(sex), "unknown"),
        birthDate=str(profile.birth_year) if profile.birth_year else None,
    )
    patient_ref = b.add(patient)
    actors: dict[str, Reference] = {}
    if profile.is_child and owner is not None:
        parent = RelatedPerson(
            id=stable_id("related-person", profile.id, owner.id),
            identifier=[Identifier(system=terms.USER_ID_SYSTEM, value=owner.id)],
            patient=patient_ref,
            relationship=[
                CodeableConcept(
                    coding=[
                        Coding(
                            system="http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                            code="PRN",
                            display="parent",
                        )
                    ]
                )
            ],
            name=[HumanName(text=owner.display_name)],
        )
        actors[owner.id] = b.add(parent)
    elif owner is not None:
        actors[owner.id] = patient_ref
    author = (
        _user_ref(db.get(User, version.created_by_id), actors)
        if version.created_by_id is not None
        else Reference(display=f"{ENGINE} (automatic re-triage: {version.trigger or 'follow-up rules'})")
    )
    made_by_person: list[Reference] = []

    # ---- answers
    answers = version.answers if version.answers is not None else answers_from_findings(findings)
    qr = QuestionnaireResponse(
        id=stable_id("qr", assessment.id, str(version.version)),
        identifier=Identifier(system=terms.ASSESSMENT_ID_SYSTEM, value=f"{assessment.id}/{version.version}"),
        questionnaire=terms.assessment_questionnaire_url(audience),
        status="completed",
        subject=patient_ref,
        authored=_iso(version.created_at),
        author=author,
        source=author if author.reference else None,
        item=response_items(answers, audience) or None,
    )
    qr_ref = b.add(qr)
    made_by_person.append(qr_ref)

    # ---- scores
    derived: list[Reference] = []
    score_rows = list(db.scalars(select(ScoreRow).where(ScoreRow.assessment_id == assessment.id)))
    startback_obs: list[tuple[ScoreRow, Reference]] = []
    for row in score_rows:
        for obs in _score_observations(row, patient_ref):
            ref = b.add(obs)
            derived.append(ref)
            if row.instrument_id == "startback":
                startback_obs.append((row, ref))
    for row, ref in startback_obs[:1] if startback_obs else []:
        risk = RISK.get(str(row.category))
        b_ref = b.add(
            RiskAssessment(
                id=stable_id("risk", row.id),
                status="final",
                subject=patient_ref,
                occurrenceDateTime=_iso(row.taken_at),
                method=CodeableConcept(
                    coding=[
                        Coding(
                            system=terms.INSTRUMENT_SYSTEM,
                            code="startback",
                            display="STarT Back Screening Tool",
                        )
                    ]
                ),
                basis=[ref],
                prediction=[
                    RiskAssessmentPrediction(
                        outcome=CodeableConcept(text="Poor outcome of back pain (persistent disabling pain)"),
                        qualitativeRisk=CodeableConcept(
                            coding=[
                                Coding(
                                    system="http://terminology.hl7.org/CodeSystem/risk-probability",
                                    code=risk or "moderate",
                                )
                            ],
                            text=str(row.category),
                        )
                        if risk
                        else CodeableConcept(text=str(row.category)),
                    )
                ],
            )
        )
        derived.append(b_ref)

    # ---- the back pain
    cond_ref = b.add(_condition(assessment, version, findings, patient_ref))
    derived.append(cond_ref)

    # ---- disposition
    case = db.scalar(select(CareCase).where(CareCase.assessment_id == assessment.id))
    override = None
    if case is not None:
        override = db.scalar(
            select(DispositionOverride)
            .where(DispositionOverride.case_id == case.id)
            .order_by(DispositionOverride.created_at.desc(), DispositionOverride.id.desc())
        )
    impression = _impression(assessment, version, result, patient_ref, qr_ref, cond_ref, derived, override)
    if case is not None:
        from telespine.store import cases

        shown = cases.effective_disposition(db, case)
        if shown != result.disposition.value:
            impression.summary = f"{impression.summary} Level now shown to clinicians: {shown}."
    ci_ref = b.add(impression)

    # ---- program
    careplan_ref = None
    plan = _careplan(db, assessment, version, result, findings, score_rows, audience, patient_ref, cond_ref)
    if plan is not None:
        careplan_ref = b.add(plan)

    # ---- visits and messages
    clinician_made: list[tuple[User | None, Reference]] = []
    for visit in db.scalars(select(VisitRequest).where(VisitRequest.assessment_id == assessment.id)):
        appt = Appointment(
            id=stable_id("visit-request", visit.id),
            status="proposed",
            description="Tele-visit requested",
            created=_iso(visit.created_at)[:10],
            participant=[AppointmentParticipant(actor=patient_ref, status="accepted")],
            supportingInformation=[ci_ref],
        )
        made_by_person.append(b.add(appt))
    if case is not None:
        for booking in db.scalars(select(VisitBooking).where(VisitBooking.case_id == case.id)):
            clinician = db.get(User, booking.clinician_id)
            end = booking.slot_start + dt.timedelta(minutes=booking.minutes)
            cancelled = booking.status == "cancelled"
            appt = Appointment(
                id=stable_id("booking", booking.id),
                status="cancelled" if cancelled else ("fulfilled" if booking.finished_at else "booked"),
                description=f"Tele-visit ({booking.mode})",
                start=_iso(booking.slot_start),
                end=_iso(end),
                minutesDuration=booking.minutes,
                participant=[
                    AppointmentParticipant(actor=patient_ref, status="accepted"),
                    AppointmentParticipant(actor=_user_ref(clinician, {}), status="accepted"),
                ],
                supportingInformation=[ci_ref],
            )
            appt_ref = b.add(appt)
            enc = Encounter(
                id=stable_id("encounter", booking.id),
                status="cancelled" if cancelled else ("finished" if booking.finished_at else "planned"),
                class_fhir=Coding(
                    system="http://terminology.hl7.org/CodeSystem/v3-ActCode", code="VR", display="virtual"
                ),
                subject=patient_ref,
                appointment=[appt_ref],
                period=Period(start=_iso(booking.slot_start), end=_iso(booking.finished_at or end)),
                reasonReference=[cond_ref],
            )
            enc_ref = b.add(enc)
            clinician_made += [(clinician, appt_ref), (clinician, enc_ref)]
        for msg in db.scalars(
            select(CareMessage).where(CareMessage.case_id == case.id).order_by(CareMessage.created_at)
        ):
            sender = db.get(User, msg.author_id) if msg.author_id else None
            if sender is None and not msg.from_patient:  # telespine's automatic reply
                sender_ref = Reference(display=f"{ENGINE} (automatic reply)")
            else:
                sender_ref = _user_ref(sender, actors) if msg.from_patient else _user_ref(sender, {})
            comm = Communication(
                id=stable_id("message", msg.id),
                status="completed",
                subject=patient_ref,
                sent=_iso(msg.created_at),
                sender=sender_ref,
                recipient=[Reference(display="care team")] if msg.from_patient else [patient_ref],
                payload=[CommunicationPayload(contentString=msg.body)],
                priority="urgent" if msg.flagged else "routine",
            )
            comm_ref = b.add(comm)
            if msg.from_patient or sender is None:
                b.add(_provenance(f"message-{msg.id}", [comm_ref], sender_ref, msg.created_at, None))
            else:
                clinician_made.append((sender, comm_ref))

    # ---- who made what
    engine_ref = Reference(display=f"{ENGINE} (rules {version.ruleset_version})")
    b.add(
        _provenance(
            f"assessment-{assessment.id}-{version.version}", made_by_person, author, version.created_at, None
        )
    )
    machine_made = [ci_ref, cond_ref, *derived]
    if careplan_ref is not None:
        machine_made.append(careplan_ref)
    b.add(
        _provenance(
            f"engine-{assessment.id}-{version.version}", machine_made, engine_ref, version.created_at, qr_ref
        )
    )
    by_clinician: dict[str, tuple[User | None, list[Reference]]] = {}
    for user, ref in clinician_made:
        key = user.id if user is not None else "?"
        by_clinician.setdefault(key, (user, []))[1].append(ref)
    for key, (user, refs) in by_clinician.items():
        b.add(_provenance(f"clinician-{assessment.id}-{key}", refs, _user_ref(user, {}), now, None))
    return Bundle(
        id=stable_id("bundle", assessment.id, str(version.version)),
        type="transaction",
        timestamp=_iso(now),
        entry=b.entries,
    )


def _provenance(
    key: str, targets: list[Reference], who: Reference, when: dt.datetime, source: Reference | None
) -> Provenance:
    role = "assembler" if source is not None else "author"
    return Provenance(
        id=stable_id("provenance", key),
        target=targets,
        recorded=_iso(when),
        agent=[
            ProvenanceAgent(
                type=CodeableConcept(
                    coding=[
                        Coding(
                            system="http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            code=role,
                        )
                    ]
                ),
                who=who,
            )
        ],
        entity=[{"role": "source", "what": source}] if source is not None else None,
    )


def _score_observations(row: ScoreRow, patient_ref: Reference) -> list[Observation]:
    codes = terms.load_terms().instrument(row.instrument_id)
    loinc = terms.load_terms().system("loinc")
    try:
        inst = load_instrument(row.instrument_id)
    except Exception:
        inst = None
    out: list[Observation] = []
    for scale_id, value in sorted(row.scores.items()):
        coding = [Coding(system=terms.INSTRUMENT_SYSTEM, code=f"{row.instrument_id}.{scale_id}")]
        known = codes.scales.get(scale_id)
        if known is not None:
            coding.insert(0, Coding(system=loinc, code=known.code, display=known.display))
        components: list[ObservationComponent] = []
        if inst is not None and scale_id == row.primary_scale:
            for item in inst.items:
                item_code = codes.items.get(item.id)
                answer = row.responses.get(item.id)
                if item_code is None or answer is None or item.id == scale_id:
                    continue
                ans = codes.answers.get(str(answer))
                value_cc = (
                    CodeableConcept(coding=[Coding(system=loinc, code=ans.code, display=ans.display)])
                    if ans is not None
                    else CodeableConcept(text=str(answer))
                )
                components.append(
                    ObservationComponent(
                        code=CodeableConcept(
                            coding=[Coding(system=loinc, code=item_code.code, display=item_code.display)]
                        ),
                        valueCodeableConcept=value_cc,
                    )
                )
        label = next((s.label for s in inst.scales if s.id == scale_id), scale_id) if inst else scale_id
        out.append(
            Observation(
                id=stable_id("score", row.id, scale_id),
                status="final",
                category=[SURVEY],
                code=CodeableConcept(coding=coding, text=label),
                subject=patient_ref,
                effectiveDateTime=_iso(row.taken_at),
                valueQuantity=Quantity(
                    value=float(value),
                    unit="{score}",
                    system=terms.load_terms().system("ucum"),
                    code="{score}",
                ),
                interpretation=[CodeableConcept(text=row.category)]
                if row.category and scale_id == row.primary_scale
                else None,
                component=components or None,
            )
        )
    return out


def _condition(
    assessment: Assessment, version: AssessmentVersion, findings: dict[str, Any], patient_ref: Reference
) -> Condition:
    table = terms.load_terms().condition
    code = table.get(str(findings.get("location")), table["default"])
    onset = None
    days = findings.get("duration_days")
    if isinstance(days, int | float) and days >= 0:
        onset = _iso(version.created_at - dt.timedelta(days=float(days)))[:10]
    return Condition(
        id=stable_id("condition", assessment.id),
        clinicalStatus=CodeableConcept(
            coding=[Coding(system="http://terminology.hl7.org/CodeSystem/condition-clinical", code="active")]
        ),
        verificationStatus=CodeableConcept(
            coding=[
                Coding(
                    system="http://terminology.hl7.org/CodeSystem/condition-ver-status", code="provisional"
                )
            ]
        ),
        category=[
            CodeableConcept(
                coding=[
                    Coding(
                        system="http://terminology.hl7.org/CodeSystem/condition-category",
                        code="encounter-diagnosis",
                    )
                ]
            )
        ],
        code=CodeableConcept(
            coding=[Coding(system=terms.load_terms().system("snomed"), code=code.code, display=code.display)],
            text=code.display,
        ),
        subject=patient_ref,
        onsetDateTime=onset,
        recordedDate=_iso(version.created_at),
    )


def _impression(
    assessment: Assessment,
    version: AssessmentVersion,
    result: TriageResult,
    patient_ref: Reference,
    qr_ref: Reference,
    cond_ref: Reference,
    derived: list[Reference],
    override: DispositionOverride | None,
) -> ClinicalImpression:
    d = result.disposition
    findings = [
        ClinicalImpressionFinding(
            itemCodeableConcept=CodeableConcept(
                coding=[Coding(system=terms.RULE_SYSTEM, code=r.id, display=r.title)], text=r.title
            ),
            basis=f"{r.reason} Why: {r.rationale} Sources: {', '.join(r.sources)}.",
        )
        for r in result.rules
    ]
    summary = f"Disposition: {d.value} (level {d.level} of 5)."
    if result.safety_net:
        summary += " Emergency safety net: the rules could not be evaluated."
    if result.unresolved:
        summary += f" Unknown answers: {', '.join(result.unresolved)}."
    notes = []
    if override is not None:
        notes.append(
            {
                "text": f"Clinician changed the disposition from {override.from_disposition} to "
                f"{override.to_disposition}: {override.reason}"
            }
        )
    return ClinicalImpression(
        id=stable_id("impression", assessment.id, str(version.version)),
        identifier=[
            Identifier(system=terms.ASSESSMENT_ID_SYSTEM, value=f"{assessment.id}/{version.version}")
        ],
        status="completed",
        code=CodeableConcept(text="telespine back pain triage"),
        description=f"Triage of back pain by the telespine rules {version.ruleset_version}.",
        subject=patient_ref,
        effectiveDateTime=_iso(version.created_at),
        date=_iso(version.created_at),
        problem=[cond_ref],
        protocol=[f"{terms.CANONICAL}/ruleset/{version.ruleset_version}#sha256-{version.ruleset_sha256}"],
        summary=summary,
        finding=findings or None,
        prognosisCodeableConcept=[
            CodeableConcept(coding=[Coding(system=terms.DISPOSITION_SYSTEM, code=d.value)], text=d.value)
        ],
        supportingInfo=[qr_ref, *derived],
        note=notes or None,
    )


def _careplan(
    db: Session,
    assessment: Assessment,
    version: AssessmentVersion,
    result: TriageResult,
    findings: dict[str, Any],
    rows: list[ScoreRow],
    audience: Audience,
    patient_ref: Reference,
    cond_ref: Reference,
) -> CarePlan | None:
    if result.safety_net or result.disposition not in (Disposition.TELEMEDICINE, Disposition.ROUTINE):
        return None
    from telespine.program import Choices, generate_program, parse_answers
    from telespine.store.repo_program import as_score_record

    choices = Choices()
    answers = db.scalar(
        select(PlanAnswersRecord)
        .where(PlanAnswersRecord.assessment_id == assessment.id)
        .order_by(PlanAnswersRecord.created_at.desc())
    )
    if answers is not None:
        try:
            choices = parse_answers(answers.answers).choices
        except Exception:
            choices = Choices()
    program = generate_program(
        findings, [as_score_record(r) for r in rows], choices, audience, result.disposition
    )
    if program is None:
        return None
    activities = [
        CarePlanActivity(
            detail=CarePlanActivityDetail(
                status="not-started", description=f"{s.title}: " + " ".join(s.points)
            )
        )
        for s in program.sections
    ]
    activities += [
        CarePlanActivity(
            detail=CarePlanActivityDetail(status="not-started", description=f"{e.name}: {e.dose}")
        )
        for e in program.exercises
    ]
    if program.graded_plan:
        activities.append(
            CarePlanActivity(
                detail=CarePlanActivityDetail(status="not-started", description=" ".join(program.graded_plan))
            )
        )
    return CarePlan(
        id=stable_id("careplan", assessment.id, str(version.version)),
        status="active",
        intent="plan",
        title="Self-care program for back pain",
        description=program.framing,
        subject=patient_ref,
        created=_iso(version.created_at),
        addresses=[cond_ref],
        activity=activities or None,
        note=[{"text": f"Program {program.version}; sources: {', '.join(program.sources)}"}],
    )


def all_bundles(db: Session, now: dt.datetime | None = None) -> Iterator[tuple[str, Bundle]]:
    """(assessment id, Bundle) for every saved assessment, oldest first."""
    for assessment in db.scalars(select(Assessment).order_by(Assessment.created_at, Assessment.id)):
        yield assessment.id, assessment_bundle(db, assessment, now)
