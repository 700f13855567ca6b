"""What the case chart shows at a glance (issue 11): the findings in words (positives first and
marked, unknowns called out: care.chart_summary), the fired rules' sources as titles with links,
the newest flagged message, and how to reach the person (phone, e-mail, and a child's parent)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from telespine.care.chart_summary import findings_in_words, score_text
from telespine.content.loader import load_sources
from telespine.store import repo_care
from telespine.store.models_care import CareCase
from telespine.store.models_visits import VisitPhone
from telespine.triage import load_ruleset

__all__ = ["context", "score_text"]


def _reads(rule_ids: list[str]) -> set[str]:
    ruleset = load_ruleset()
    out: set[str] = set()
    for rid in rule_ids:
        try:
            out.update(ruleset.by_id(rid).reads)
        except KeyError:  # a pseudo rule (safety net, unresolved unknown) reads no finding
            continue
    return out


def context(db: Session, case: CareCase, version: Any, messages: list[Any]) -> dict[str, Any]:
    rules = list((version.result or {}).get("rules", []))  # the stored result document
    registry = load_sources().sources
    keys = {str(k) for r in rules for k in r.get("sources", [])}
    flagged = [m for m in messages if m.flagged and not m.automatic]
    profile = case.assessment.profile
    owner = profile.owner
    contact = repo_care.contact_of(db, owner.id)
    phone = db.get(VisitPhone, owner.id)
    return {
        "glance": findings_in_words(dict(version.findings), _reads([str(r.get("id")) for r in rules])),
        "sources": {k: registry[k] for k in keys if k in registry},
        "newest_flagged": max(flagged, key=lambda m: m.created_at) if flagged else None,
        "reach": {
            "email": contact.email if contact is not None else None,
            "phone": phone.phone if phone is not None else None,
            "parent": owner.display_name if profile.is_child else None,
        },
    }
