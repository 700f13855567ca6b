"""The case chart at a glance (issue 11), on SQLite and PostgreSQL: findings in words with the
positives first and marked and the unknowns called out, scores as the instrument reports them,
sources as titles with links, the newest flagged message at the top, and how to reach the person
(phone, e-mail; for a child the parent's name)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

from sqlalchemy import select

from telespine.content.loader import load_sources
from telespine.store import repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.models import Profile, User
from telespine.store.models_visits import VisitPhone
from telespine.triage import load_ruleset
from telespine.web.testing import bearer, login

Client = Any
FINDINGS = {
    "age_years": 44,
    "location": "low_back",
    "onset": "gradual",
    "duration_days": 10,
    "pain_score": 6,
    "leg_pain_below_knee": True,
    "night_pain": False,
    "fever": "unknown",
}
FIRST_FLAG = "Since this morning I wet myself and I can't feel my groin."
SECOND_FLAG = "Now both my legs are numb and I cannot pass urine at all."


def _case_of(url: str, username: str, child: bool = False) -> str:
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            user = db.scalar(select(User).where(User.username == username))
            assert user is not None
            if child:
                profile = db.scalar(
                    select(Profile).where(Profile.owner_id == user.id, Profile.is_child.is_(True))
                )
            else:
                profile = repo.ensure_self_profile(db, user)
            assert profile is not None
            assessment = repo.assessments_for_profiles(db, [profile.id])[0]
            case = repo_care.case_for_assessment(db, assessment.id)
            assert case is not None
            if not child:
                db.merge(VisitPhone(user_id=user.id, phone="+1 555 0142"))
            return case.id
    finally:
        engine.dispose()


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def test_chart_reads_at_a_glance(make_client: Callable[..., Client], seeded_url: str) -> None:
    alice_api = bearer(make_client, seeded_url, "alice")
    r = alice_api.post("/api/v1/assessments", json={"findings": FINDINGS})
    assert r.status_code == 201, r.text
    dave_api = bearer(make_client, seeded_url, "dr_dave")
    case = next(c["id"] for c in dave_api.get("/api/v1/queue").json() if c["assessment_id"] == r.json()["id"])
    _case_of(seeded_url, "alice")  # alice gives a phone number (as with "call me instead")
    for body in (FIRST_FLAG, "Thanks, the stretches help a bit.", SECOND_FLAG, "Is it fine to swim?"):
        assert alice_api.post(f"/api/v1/cases/{case}/messages", json={"body": body}).status_code == 201
    dave = login(make_client, seeded_url, "dr_dave")
    page = _main(dave.get(f"/care/cases/{case}").text)

    # the newest flagged message leads the chart, above the findings
    top = page.index('id="newest-flagged"')
    assert top < page.index('id="findings-title"')
    banner = page[top : page.index("</div>", top)]
    assert SECOND_FLAG in banner and FIRST_FLAG not in banner and "swim" not in banner
    # reach: phone and e-mail
    reach = page[page.index('id="reach"') : page.index("</p>", page.index('id="reach"'))]
    assert 'href="tel:+1 555 0142"' in reach and "mailto:" in reach

    # findings in words: facts, then positives marked, then unknowns, negatives folded away
    findings = page[page.index('id="findings-title"') : page.index('id="rules-title"')]
    assert "Age: 44 years" in findings and "Worst pain in the last 24 hours: 6/10" in findings
    assert "<strong>Yes:</strong> Leg pain below the knee (sciatica)" in findings
    assert "<strong>Unknown:</strong> Fever" in findings
    assert findings.index("Yes:") < findings.index("Unknown:") < findings.index("Answered no")
    assert "Night pain (wakes from sleep or not eased lying still): no" in findings
    assert "leg_pain_below_knee" not in re.sub(r'id="finding-[a-z_0-9]+"', "", findings)  # no raw names

    # sources of the fired rules are titles with links, not keys
    rules = page[page.index('id="rules-title"') : page.index('id="escalation-title"')]
    fired = re.findall(r"<li><strong>((?:adult|child)\.[a-z_]+)</strong>", rules)
    assert fired  # the red flags fired rules
    registry, ruleset = load_sources().sources, load_ruleset()
    for rule_id in fired:
        for key in ruleset.by_id(rule_id).sources:
            src = registry[key]
            assert escape(src.title) in rules, key
            if src.url:
                assert f'<a href="{src.url}" rel="noopener noreferrer">{escape(src.title)}</a>' in rules
    assert not re.search(r"Sources: [a-z]+-[a-z0-9-]+", rules)  # titles, not keys


def test_scores_are_shown_as_the_instrument_reports_them(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    case = _case_of(seeded_url, "alice")  # the demo's alice has three PEG scores (means of 3 items)
    dave = login(make_client, seeded_url, "dr_dave")
    page = _main(dave.get(f"/care/cases/{case}").text)
    scores = page[page.index('id="scores-title"') :]
    scores = scores[: scores.index("</section>")]
    cells = re.findall(r"<td>(\d+(?:\.\d+)?) \(0 to 10\)</td>", scores)
    assert cells, scores[:1500]
    assert all(re.fullmatch(r"\d+\.\d", c) for c in cells), cells  # PEG: a mean to one decimal
    assert not re.search(r"\d\.\d{3,}", scores)


def test_a_childs_chart_names_the_parent(make_client: Callable[..., Client], seeded_url: str) -> None:
    case = _case_of(seeded_url, "carol", child=True)
    dave = login(make_client, seeded_url, "dr_dave")
    page = _main(dave.get(f"/care/cases/{case}").text)
    reach = page[page.index('id="reach"') : page.index("</p>", page.index('id="reach"'))]
    assert "Parent: Carol Carter." in reach and "Phone: none given" in reach
    assert 'id="newest-flagged"' not in page
