"""The medicine diary and lesson pages and API (issue 14), on SQLite and PostgreSQL: thin routes
over services.medicines and services.lessons; a warning sign shows its result at once and holds
the case; a parent's pages name no dose and warn against aspirin; the chart shows the diary and
which lessons were read."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Any

from telespine.content.checks import aspirin_problems, dose_problems
from telespine.content.readability import reading_grade
from telespine.web.testing import bearer, csrf_from, login

Client = Any


def _cases(client: Client) -> list[str]:
    return list(dict.fromkeys(re.findall(r"/care/cases/(\w+)", client.get("/care").text)))


def _main_text(page: str) -> str:
    """The words of <main>, each label, option, cell, heading and item ending as its own sentence
    (as a reader takes them; run together they would read as one very long sentence)."""
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", main, flags=re.S)
    main = re.sub(r"</(p|li|label|legend|option|td|th|h\d|button|a)>", ". ", main)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", main.split(">", 1)[1]))
    return re.sub(r"([.:?!])\s*\.", r"\1", text)


def _signs(form: str, answer: str = "no") -> dict[str, str]:
    return {f"ws_{q}": answer for q in dict.fromkeys(re.findall(r'name="ws_(\w+)"', form))}


def test_a_calm_entry_is_saved_and_shown_in_the_diary(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    web = login(make_client, seeded_url, "alice")
    case = _cases(web)[0]
    assert f"/care/cases/{case}/medicines" in web.get(f"/care/cases/{case}").text
    form = web.get(f"/care/cases/{case}/medicines")
    assert form.status_code == 200 and 'name="ws_vomiting_blood"' in form.text
    day = re.search(r'name="day" required value="([\d-]+)"', form.text)
    assert day is not None
    r = web.post(
        f"/care/cases/{case}/medicines",
        data={
            "csrf_token": csrf_from(form.text),
            "day": day.group(1),
            "med_1": "paracetamol",
            "time_1": "08:30",
            "amount_1": "one",
            **_signs(form.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and f"/care/cases/{case}/medicines/" in r.headers["location"]
    done = web.get(r.headers["location"])
    assert done.status_code == 200 and "did not tell us about any warning sign" in done.text
    assert 'id="emergency"' not in done.text
    diary = web.get(f"/care/cases/{case}/medicines", headers={"HX-Request": "true"})
    assert "<html" not in diary.text and "Paracetamol at 08:30 (one)" in diary.text
    # A medicine without a time: 422, the form again, nothing stored.
    bad = web.post(
        f"/care/cases/{case}/medicines",
        data={
            "csrf_token": csrf_from(form.text),
            "day": day.group(1),
            "med_1": "ibuprofen",
            **_signs(form.text),
        },
    )
    assert bad.status_code == 422 and "Please check your answers" in bad.text
    api = bearer(make_client, seeded_url, "alice")
    assert len(api.get(f"/api/v1/cases/{case}/medicines").json()) == 1


def test_the_medicine_pages_read_at_grade_8_or_lower(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    for name in ("alice", "carol"):
        web = login(make_client, seeded_url, name)
        case = _cases(web)[-1]
        text = _main_text(web.get(f"/care/cases/{case}/medicines").text)
        assert reading_grade(text) <= 8, (name, round(reading_grade(text), 1))


def test_a_parents_medicine_pages_name_no_dose_and_warn_against_aspirin(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    web = login(make_client, seeded_url, "carol")
    api = bearer(make_client, seeded_url, "carol")
    child = _cases(web)[-1]
    page = web.get(f"/care/cases/{child}/medicines").text
    text = _main_text(page)
    assert "your child" in text.lower() and 'id="aspirin-warning"' in page and "under 16" in text
    assert dose_problems(text) == []
    r = api.post(
        f"/api/v1/cases/{child}/medicines",
        json={
            "day": re.search(r'name="day" required value="([\d-]+)"', page).group(1),  # type: ignore[union-attr]
            "taken": [],
            "warning_signs": dict.fromkeys(re.findall(r'name="ws_(\w+)"', page), "no"),
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["tell"] == [] and not body["safety_net"]
    after = _main_text(web.get(f"/care/cases/{child}/medicines").text)
    assert dose_problems(after) == []
    # The only aspirin mentions are warnings.
    assert [p for p in aspirin_problems(after) if "Aspirin" not in p or "under 16" not in after] == []


def test_a_warning_sign_shows_its_result_and_holds_the_case(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    web = login(make_client, seeded_url, "alice")
    case = _cases(web)[0]
    form = web.get(f"/care/cases/{case}/medicines").text
    day = re.search(r'name="day" required value="([\d-]+)"', form).group(1)  # type: ignore[union-attr]
    signs = {**_signs(form), "ws_black_stools": "yes"}
    r = web.post(
        f"/care/cases/{case}/medicines",
        data={"csrf_token": csrf_from(form), "day": day, "med_1": "naproxen", "time_1": "07:00", **signs},
        follow_redirects=False,
    )
    done = web.get(r.headers["location"]).text
    assert "Black poo can mean bleeding" in done and 'id="medicine-result"' in done and 'role="alert"' in done
    assert 'id="emergency-signs"' in done  # same-day level: the emergency signs as a list
    api = bearer(make_client, seeded_url, "alice")
    assert api.get(f"/api/v1/cases/{case}").json()["patient_disposition"] in ("urgent", "emergency")
    messages = api.get(f"/api/v1/cases/{case}/messages").json()
    assert any(m["automatic"] and "medicine diary" in m["body"] for m in messages)
    # The clinician's chart loads the diary with the level.
    doc = login(make_client, seeded_url, "dr_dave")
    chart = doc.get(f"/care/cases/{case}")
    assert 'hx-get="/care/cases/' + case + '/medicines"' in chart.text
    frag = doc.get(f"/care/cases/{case}/medicines", headers={"HX-Request": "true"}).text
    assert "Naproxen at 07:00" in frag and "black, sticky or tar-like poo? Yes" in frag
    assert 'id="medicine-form"' not in doc.get(f"/care/cases/{case}/medicines").text  # clinicians only read


def test_lessons_are_read_and_the_chart_shows_which(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    web = login(make_client, seeded_url, "alice")
    case = _cases(web)[0]
    api = bearer(make_client, seeded_url, "alice")
    offered = api.get(f"/api/v1/cases/{case}/lessons").json()
    assert offered  # no STarT Back in the demo data: not assessed gets the core lessons, never none
    assert "lesson-list" in web.get(f"/care/cases/{case}/lessons").text
    first = offered[0]
    page = web.get(f"/care/cases/{case}/lessons/{first['id']}")
    assert (
        page.status_code == 200 and first["title"] in html_lib.unescape(page.text) and "Try this" in page.text
    )
    assert reading_grade(_main_text(page.text)) <= 8
    assert web.get(f"/care/cases/{case}/lessons/not_a_lesson").status_code == 404
    r = web.post(
        f"/care/cases/{case}/lessons/{first['id']}/read",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'id="lesson-read"' in web.get(r.headers["location"]).text
    assert api.get(f"/api/v1/cases/{case}/lessons").json()[0]["read"] is True
    doc = login(make_client, seeded_url, "dr_dave")
    frag = doc.get(f"/care/cases/{case}/lessons", headers={"HX-Request": "true"}).text
    assert 'id="lessons-read"' in frag and html_lib.escape(first["title"]) in frag
