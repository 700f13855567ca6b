"""CDS Hooks 2.0 services: discovery, patient-view, order-select/order-sign for lumbar imaging.

Pure: the web layer finds the patient's latest assessment and hands it in as a `Latest`; this
module turns it into cards. Card texts are data (data/cds.yaml, with sources). Any failure of
a service becomes one critical safety-net card (`safety_net_card`), never an empty answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from telespine.fhir import terms
from telespine.triage.types import Disposition, FiredRule

Indicator = Literal["info", "warning", "critical"]
PATIENT_VIEW = "telespine-back-pain"
ORDER_SELECT = "telespine-lumbar-imaging-select"
ORDER_SIGN = "telespine-lumbar-imaging-sign"
OVERRIDE_SYSTEM = f"{terms.CANONICAL}/CodeSystem/cds-override-reason"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Disp(_Strict):
    indicator: Indicator
    summary: str = Field(max_length=140)


class _PatientView(_Strict):
    dispositions: dict[Disposition, _Disp]
    no_rule: str
    unknown_note: str
    override_note: str
    link_label: str
    sources: list[str] = Field(min_length=1)


class _Reason(_Strict):
    code: str
    display: str


class _Imaging(_Strict):
    weeks: int = Field(ge=1)
    summary: str = Field(max_length=140)
    detail: str
    override_reasons: list[_Reason]
    sources: list[str] = Field(min_length=1)


class _SafetyNet(_Strict):
    summary: str = Field(max_length=140)
    detail: str
    sources: list[str] = Field(min_length=1)


class CardTexts(_Strict):
    version: str
    source_label: str
    patient_view: _PatientView
    imaging: _Imaging
    safety_net: _SafetyNet


@cache
def load_card_texts() -> CardTexts:
    text = resources.files("telespine.fhir").joinpath("data/cds.yaml").read_text("utf-8")
    texts = CardTexts.model_validate(yaml.safe_load(text))
    if set(texts.patient_view.dispositions) != set(Disposition):
        raise ValueError("data/cds.yaml: patient_view needs a card for every disposition")
    return texts


# ---- the CDS Hooks JSON shapes (the spec's, not FHIR resources) ------------------------------


class Source(BaseModel):
    label: str
    url: str | None = None
    topic: dict[str, str] | None = None


class Link(BaseModel):
    label: str
    url: str
    type: Literal["absolute", "smart"] = "absolute"


class Card(BaseModel):
    uuid: str = Field(default_factory=lambda: str(uuid.uuid4()))
    summary: str = Field(max_length=140)
    detail: str | None = None
    indicator: Indicator
    source: Source
    links: list[Link] | None = None
    overrideReasons: list[dict[str, str]] | None = None
    selectionBehavior: str | None = None

    # Not sent: what the card rests on, stored with the card for feedback.
    def payload(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Service(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


def services() -> list[Service]:
    """The discovery document's services."""
    prefetch = {"patient": "Patient/{{context.patientId}}"}
    return [
        Service(
            hook="patient-view",
            id=PATIENT_VIEW,
            title="telespine back pain check",
            description="The latest telespine back-pain disposition of this patient, with its reasons.",
            prefetch=prefetch,
        ),
        Service(
            hook="order-select",
            id=ORDER_SELECT,
            title="Early lumbar spine imaging",
            description="Warns when lumbar spine imaging is chosen in the first 6 weeks of back pain "
            "with no warning sign; silent when a warning sign is present or unknown.",
            prefetch=prefetch,
        ),
        Service(
            hook="order-sign",
            id=ORDER_SIGN,
            title="Early lumbar spine imaging (signing)",
            description="The same check when the order is signed.",
            prefetch=prefetch,
        ),
    ]


@dataclass(frozen=True)
class Latest:
    """What the cards need from a patient's latest assessment."""

    assessment_id: str
    created_at: dt.datetime
    disposition: Disposition
    engine_disposition: Disposition
    rules: list[FiredRule]
    unresolved: list[str]
    safety_net: bool
    ruleset_version: str
    ruleset_sha256: str
    duration_days: float | None
    link: str
    override: tuple[str, str, str] | None = None  # (from, to, reason)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Issued:
    """A card and what it rests on (kept for the feedback)."""

    card: Card
    assessment_id: str | None
    rule_ids: list[str]
    ruleset_version: str
    ruleset_sha256: str


def _source(texts: CardTexts, keys: Iterable[str], url: str | None = None) -> Source:
    return Source(label=f"{texts.source_label} ({', '.join(keys)})", url=url)


def patient_view(latest: Latest | None) -> list[Issued]:
    """The disposition card; no card when telespine has no assessment of this patient."""
    if latest is None:
        return []
    texts = load_card_texts()
    pv = texts.patient_view
    shown = pv.dispositions[latest.disposition]
    lines: list[str] = []
    for rule in latest.rules:
        lines.append(
            f"- **{rule.title}** ({rule.level.value}): {rule.rationale} "
            f'Told the patient: "{rule.reason}" _Sources: {", ".join(rule.sources)}_'
        )
    if not lines:
        lines.append(pv.no_rule)
    if latest.unresolved:
        lines.append(pv.unknown_note.replace("{items}", ", ".join(latest.unresolved)))
    if latest.override is not None:
        before, after, reason = latest.override
        lines.append(
            pv.override_note.replace("{before}", before).replace("{after}", after).replace("{reason}", reason)
        )
    lines.append(
        f"Rules {latest.ruleset_version} (SHA-256 {latest.ruleset_sha256[:12]}), "
        f"checked {latest.created_at.date().isoformat()}."
    )
    sources = sorted({s for r in latest.rules for s in r.sources} | set(pv.sources))
    card = Card(
        summary=shown.summary,
        detail="\n".join(lines),
        indicator=shown.indicator,
        source=_source(texts, sources, latest.link),
        links=[Link(label=pv.link_label, url=latest.link)],
    )
    return [
        Issued(
            card,
            latest.assessment_id,
            [r.id for r in latest.rules],
            latest.ruleset_version,
            latest.ruleset_sha256,
        )
    ]


def _codings(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    code = resource.get("code")
    out: list[tuple[str, str]] = []
    if isinstance(code, Mapping):
        for c in code.get("coding") or []:
            if isinstance(c, Mapping) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str):
                out.append((c["system"], c["code"]))
    return out


def lumbar_imaging_orders(draft_orders: Any, selections: list[str] | None = None) -> list[str]:
    """Ids (ServiceRequest/<id>) of the draft orders that are lumbar spine imaging."""
    table = terms.load_terms().imaging_systems()
    found: list[str] = []
    entries = draft_orders.get("entry") if isinstance(draft_orders, Mapping) else None
    for entry in entries or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "ServiceRequest":
            continue
        ref = f"ServiceRequest/{resource.get('id')}"
        if selections is not None and ref not in selections:
            continue
        if any(code in table.get(system, {}) for system, code in _codings(resource)):
            found.append(ref)
    return found


def red_flag_possible(latest: Latest) -> bool:
    """True unless the check found nothing at all: any fired rule, unknown answer, safety net or
    a clinician's level above telemedicine counts (an unknown answer is never a no)."""
    return bool(
        latest.safety_net
        or latest.rules
        or latest.unresolved
        or latest.disposition != Disposition.TELEMEDICINE
        or latest.engine_disposition != Disposition.TELEMEDICINE
    )


def weeks_of_pain(latest: Latest, now: dt.datetime) -> float | None:
    if latest.duration_days is None:
        return None
    elapsed = (now - latest.created_at).total_seconds() / 86400
    return (latest.duration_days + max(elapsed, 0.0)) / 7


def imaging_cards(latest: Latest | None, orders: list[str], now: dt.datetime) -> list[Issued]:
    """The early-imaging warning, or nothing (no imaging order, a possible red flag, or too little known)."""
    if not orders or latest is None or red_flag_possible(latest):
        return []
    texts = load_card_texts()
    weeks = weeks_of_pain(latest, now)
    if weeks is None or weeks >= texts.imaging.weeks:
        return []
    card = Card(
        summary=texts.imaging.summary,
        detail=texts.imaging.detail.replace("{weeks}", str(max(1, round(weeks)))),
        indicator="warning",
        source=_source(texts, texts.imaging.sources, latest.link),
        links=[Link(label=texts.patient_view.link_label, url=latest.link)],
        overrideReasons=[
            {"system": OVERRIDE_SYSTEM, "code": r.code, "display": r.display}
            for r in texts.imaging.override_reasons
        ],
    )
    return [Issued(card, latest.assessment_id, [], latest.ruleset_version, latest.ruleset_sha256)]


def safety_net_card(ruleset_version: str = "unknown", ruleset_sha256: str = "unknown") -> Issued:
    """The critical card a failing service answers with."""
    try:
        texts = load_card_texts()
        summary, detail, sources, label = (
            texts.safety_net.summary,
            texts.safety_net.detail,
            texts.safety_net.sources,
            texts.source_label,
        )
    except Exception:  # the texts themselves are broken: still never silent
        summary = "telespine could not check this patient: look for back pain warning signs"
        detail = (
            "The telespine service failed. Check for back pain warning signs and arrange emergency "
            "assessment if any is present."
        )
        sources, label = ["nice-ng59"], "telespine back pain triage"
    card = Card(
        summary=summary,
        detail=detail,
        indicator="critical",
        source=Source(label=f"{label} ({', '.join(sources)})"),
    )
    return Issued(card, None, ["safety.engine_failure"], ruleset_version, ruleset_sha256)
