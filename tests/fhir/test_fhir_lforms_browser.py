"""A real peer: telespine's Questionnaires rendered by LHC-Forms (npm lforms) in Debian's Chromium.

The page and the lforms files are served from a local folder (scripts/fhir_peers.sh unpacks
lforms into .venv/npm). The answers are typed into the form as a person would; the
QuestionnaireResponse LHC-Forms produces is imported back and must give telespine's own result.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telespine.fhir.importer import import_response
from telespine.fhir.questionnaires import assessment_questionnaire, instrument_questionnaire, to_json
from telespine.triage import triage
from telespine.triage.questionnaire import load_questionnaire, next_question
from telespine.triage.questionnaire import result as questionnaire_result

pytestmark = pytest.mark.browser

LFORMS = Path(__file__).resolve().parents[2] / ".venv/npm/lforms/40.1.3/dist/lforms"
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>LHC-Forms</title>
<link rel="stylesheet" href="lforms/webcomponent/styles.css">
<script src="lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="lforms/webcomponent/runtime.js" type="module"></script>
<script src="lforms/webcomponent/polyfills.js" type="module"></script>
<script src="lforms/webcomponent/main.js" type="module"></script>
<script src="lforms/fhir/R4/lformsFHIR.min.js" defer></script>
</head><body><div id="form"></div></body></html>"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (LFORMS / "webcomponent/main.js").exists():
        pytest.fail(f"{LFORMS} is missing: run scripts/fhir_peers.sh (./scripts/test.sh does)")
    root = tmp_path_factory.mktemp("lforms-site")
    (root / "lforms").symlink_to(LFORMS, target_is_directory=True)
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    (root / "favicon.ico").write_bytes(b"")
    handler = functools.partial(_Quiet, directory=str(root))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/index.html"
    srv.shutdown()


@pytest.fixture
def browser(chromium: Any) -> Any:
    """The shared Debian Chromium (tests/conftest.py)."""
    return chromium


def _render(browser: Any, site: str, questionnaire: Any) -> Any:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site)
    page.wait_for_function(
        "() => !!(window.LForms && LForms.Util && LForms.Util.addFormToPage && LForms.Util.getFormFHIRData)",
        timeout=30000,
    )
    page.evaluate("q => LForms.Util.addFormToPage(q, 'form', {})", json.loads(to_json(questionnaire)))
    page.wait_for_selector("lhc-item", timeout=30000)
    assert errors == []
    return page


def _pick(page: Any, link_id: str, label: str) -> None:
    """Type the label into LHC-Forms' answer list and choose it, as a person would; check it took."""
    field = page.locator(f'[id="{link_id}/1"]')
    for _ in range(3):
        field.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(label, delay=5)
        page.wait_for_timeout(60)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        shown = field.input_value()
        if shown == label or shown.startswith(f"{label} - "):  # LHC-Forms adds " - <score>"
            return
    raise AssertionError(f"{link_id}: LHC-Forms shows {field.input_value()!r}, not {label!r}")


def _number(page: Any, link_id: str, value: float) -> None:
    field = page.locator(f'[id="{link_id}/1"]')
    field.fill(str(value))
    page.keyboard.press("Tab")


def _response(page: Any) -> dict[str, Any]:
    doc: dict[str, Any] = page.evaluate(
        "() => LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', document.getElementById('form'))"
    )
    return doc


def test_phq2_renders_and_lhc_forms_computes_the_score(browser: Any, site: str) -> None:
    page = _render(browser, site, instrument_questionnaire("phq2"))
    _pick(page, "interest", "Several days")
    _pick(page, "down", "More than half the days")
    page.wait_for_timeout(300)
    items = {i["linkId"]: i["answer"][0] for i in _response(page)["item"]}
    assert items["interest"]["valueCoding"]["code"] == "LA6569-3"
    assert items["down"]["valueCoding"]["code"] == "LA6570-1"
    assert items["score.total"]["valueDecimal"] == 3  # the calculatedExpression, run by LHC-Forms
    page.close()


def _answers_of_the_flow(seed: dict[str, object]) -> dict[str, object]:
    """The answers telespine's adaptive flow collects: the seed where given, else the calm answer."""
    qn = load_questionnaire()
    answers: dict[str, object] = {}
    for _ in range(len(qn.questions) + 1):
        nxt = next_question(answers)
        if nxt is None:
            break
        if nxt.id in seed:
            answers[nxt.id] = seed[nxt.id]
        elif nxt.kind == "number":
            answers[nxt.id] = 0
        else:
            answers[nxt.id] = "no" if nxt.kind == "yes_no_unsure" else nxt.options[0].value
    return answers


SEEDS = [
    (
        "adult",
        {
            "age_years": 42,
            "sex": "female",
            "pain_score": 4,
            "location": "low_back",
            "onset": "gradual",
            "duration_days": 12,
            "leg_pain_below_knee": "no",
        },
    ),
    (
        "adult",
        {
            "age_years": 55,
            "sex": "male",
            "pain_score": 7,
            "location": "low_back",
            "onset": "gradual",
            "duration_days": 3,
            "saddle_numbness": "unsure",
            "leg_pain_below_knee": "yes",
        },
    ),
    (
        "pediatric",
        {
            "age_years": 9,
            "sex": "male",
            "pain_score": 5,
            "location": "low_back",
            "onset": "gradual",
            "duration_days": 30,
            "night_pain": "yes",
            "leg_pain_below_knee": "no",
        },
    ),
]


@pytest.mark.parametrize(("audience", "seed"), SEEDS)
def test_assessment_round_trip_through_lhc_forms(
    browser: Any, site: str, audience: str, seed: dict[str, object]
) -> None:
    answers = _answers_of_the_flow(seed)
    q = assessment_questionnaire(audience)
    qn = load_questionnaire()
    page = _render(browser, site, q)
    aud = "adult" if audience == "adult" else "pediatric"
    for qid, value in answers.items():
        question = qn.by_id(qid)
        if question.kind == "number":
            _number(page, qid, float(value) if isinstance(value, int | float) else 0.0)
        else:
            option = question.option(str(value))
            assert option is not None
            _pick(page, qid, option.label_for(aud))
    page.wait_for_timeout(300)
    response = _response(page)
    page.close()
    got = {i["linkId"]: i["answer"][0] for i in response["item"] if i.get("answer")}
    recorded = {
        k: a["valueCoding"]["code"] if "valueCoding" in a else a.get("valueDecimal") for k, a in got.items()
    }
    assert recorded == answers  # LHC-Forms recorded what was typed
    imported = import_response(response)
    assert imported.filled_unknown == []
    expected = questionnaire_result(answers)
    result = triage(imported.findings)
    assert result.disposition == expected.disposition
    assert [r.id for r in result.rules] == [r.id for r in expected.rules]


INSTRUMENT_ANSWERS = {
    "gad2": {"nervous": "more_than_half", "worrying": "nearly_every_day"},
    "nrs": {"pain": 6},
    "peg": {"pain": 7, "enjoyment": 4, "activity": 6},
    "startback": {
        "q1_leg_pain": "agree",
        "q2_neck_shoulder": "disagree",
        "q3_walking": "agree",
        "q4_dressing": "agree",
        "q5_activity_safe": "agree",
        "q6_worry": "agree",
        "q7_catastrophising": "disagree",
        "q8_enjoyment": "agree",
        "q9_bothersome": "very_much",
    },
}


@pytest.mark.parametrize("instrument_id", sorted(INSTRUMENT_ANSWERS))
def test_lhc_forms_scores_every_instrument_as_telespine_does(
    browser: Any, site: str, instrument_id: str
) -> None:
    import datetime as dt

    from telespine.instruments import load_instrument, score

    answers = INSTRUMENT_ANSWERS[instrument_id]
    inst = load_instrument(instrument_id)
    page = _render(browser, site, instrument_questionnaire(instrument_id))
    for item in inst.items:
        value = answers[item.id]
        rs = inst.response_sets[item.response]
        if rs.kind == "numeric":
            _number(page, item.id, value)
        else:
            label = next(o.label for o in rs.options if o.code == value)
            _pick(page, item.id, label)
    page.wait_for_timeout(300)
    items = {i["linkId"]: i["answer"][0] for i in _response(page)["item"] if i.get("answer")}
    page.close()
    expected = score(instrument_id, answers, dt.datetime.now(dt.UTC))
    for scale_id, value in expected.scores.items():
        got = items[f"score.{scale_id}"]
        assert got.get("valueDecimal", got.get("valueInteger")) == pytest.approx(value, abs=0.05), scale_id
