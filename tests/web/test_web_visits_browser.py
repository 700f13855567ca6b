"""The video visit in real Chromium: two headless browsers with a fake camera and microphone join
one visit through the app's pages on a live uvicorn server (loopback), the clinician admits the
patient from the waiting room, and the peer connection reaches "connected" with video frames
received and decoded (getStats). Once directly, once forced through coturn (iceTransportPolicy
"relay", TURN REST credentials from the app).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from telespine.store.demo import demo_password
from telespine.web.testing import PC_CONNECTED, decoded_frames, make_test_settings

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TELESPINE_CHROMIUM", "/usr/bin/chromium")
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
TURN_SECRET = secrets.token_hex(16)


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def turn_port() -> Iterator[int]:
    """coturn on loopback with a test shared secret (use-auth-secret: the TURN REST scheme)."""
    if not Path(TURNSERVER).exists():
        pytest.skip("no coturn (scripts/test.sh installs Debian's coturn)")
    port = _free_port(socket.SOCK_DGRAM)
    low = 49160 + secrets.randbelow(5000)
    proc = subprocess.Popen(
        [
            TURNSERVER,
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--min-port={low}",
            f"--max-port={low + 200}",
            "--use-auth-secret",
            f"--static-auth-secret={TURN_SECRET}",
            "--realm=telespine.test",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--fingerprint",
            "--allow-loopback-peers",
            "--no-software-attribute",
            "--log-file=stdout",
            "--simple-log",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(1.0)
    if proc.poll() is not None:
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        pytest.fail(f"turnserver did not start: {out[-2000:]}")
    yield port
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, turn_port: int, migrated_templates: Any
) -> Iterator[tuple[str, str]]:
    import uvicorn

    from telespine.store import repo, repo_care
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.store.models import User
    from telespine.web.app import create_app

    # migrated, with the demo data (seed_demo): a copy of the worker's seeded template
    url = migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("visit-browser") / "visit.sqlite3")
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        alice = db.scalar(select(User).where(User.username == "alice"))
        dave = db.scalar(select(User).where(User.username == "dr_dave"))
        assert alice is not None and dave is not None
        assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, alice).id])[0]
        case = repo_care.case_for_assessment(db, assessment.id)
        assert case is not None
        day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
        booking = repo_care.book_visit(
            db,
            case=case,
            clinician=dave,
            slot_start=dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC),
            mode="video",
        )
        visit = booking.id
    engine.dispose()
    port = _free_port()
    settings = make_test_settings(
        url,
        turn_urls=f"turn:127.0.0.1:{turn_port}?transport=udp,turn:127.0.0.1:{turn_port}?transport=tcp",
        turn_secret=TURN_SECRET,
        require_totp=False,  # the demo clinician signs in with a password only
    )
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", visit
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browsers() -> Iterator[tuple[Any, Any]]:
    """Two separate Chromium processes: the patient's and the clinician's."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        one = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        two = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield one, two
        one.close()
        two.close()


def _signed_in(browser: Any, base: str, name: str) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(demo_password(name))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page, errors


def _axe(page: Any) -> None:
    """axe-core: no serious or critical violation on the call page (in the call)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad


def _call(browsers: tuple[Any, Any], base: str, visit: str, query: str = "") -> dict[str, dict[str, Any]]:
    patient, p_errors = _signed_in(browsers[0], base, "alice")
    clinician, c_errors = _signed_in(browsers[1], base, "dr_dave")
    try:
        patient.goto(f"{base}/care/visits/{visit}/call{query}")
        clinician.goto(f"{base}/care/visits/{visit}/call{query}")
        for page in (patient, clinician):
            join = page.get_by_role("button", name="Join the visit")
            join.wait_for(state="visible")
            page.wait_for_function("() => !document.getElementById('join').disabled", timeout=15000)
            join.click()
        patient.locator("#status", has_text="Your clinician will let you in").wait_for()
        clinician.locator("#waiting-who", has_text="Alice Archer is waiting.").wait_for(timeout=15000)
        clinician.get_by_role("button", name="Let them in").click()
        for page in (patient, clinician):
            page.wait_for_function(PC_CONNECTED, timeout=30000)
        stats: dict[str, dict[str, Any]] = {}
        for name, page in (("patient", patient), ("clinician", clinician)):
            stats[name] = decoded_frames(page)
        if not query:
            for page in (patient, clinician):
                _axe(page)
        ARTIFACTS.mkdir(exist_ok=True)
        patient.screenshot(
            path=str(ARTIFACTS / f"visit-call-patient{query and '-relay'}.png"), full_page=True
        )
        clinician.screenshot(
            path=str(ARTIFACTS / f"visit-call-clinician{query and '-relay'}.png"), full_page=True
        )
        # sound only and mute reach the other side; call me instead shows the number to the clinician
        patient.get_by_role("button", name="Mute").click()
        clinician.locator("#remote-state", has_text="Microphone is muted.").wait_for()
        patient.get_by_label("Your phone number").fill("+1 555 0100")
        patient.get_by_role("button", name="Call me instead").click()
        clinician.locator("#callback-phone", has_text="asks you to phone instead").wait_for()
        assert "+1 555 0100" in clinician.locator("#callback-phone").inner_text()
        patient.get_by_role("button", name="Sound only").click()
        clinician.locator("#remote-state", has_text="Sound only.").wait_for()
        assert p_errors == [] and c_errors == [], (p_errors, c_errors)
        return stats
    finally:
        patient.context.close()
        clinician.context.close()


def test_two_chromiums_connect_a_video_visit_directly(
    browsers: tuple[Any, Any], server: tuple[str, str]
) -> None:
    base, visit = server
    stats = _call(browsers, base, visit)
    for side in ("patient", "clinician"):
        assert stats[side]["received"] > 0 and stats[side]["decoded"] > 5, stats
        assert stats[side]["local"] in ("host", "srflx", "prflx"), stats


def test_two_chromiums_connect_through_coturn_with_relay_only(
    browsers: tuple[Any, Any], server: tuple[str, str]
) -> None:
    base, visit = server
    stats = _call(browsers, base, visit, "?relay=1")
    for side in ("patient", "clinician"):
        assert stats[side]["decoded"] > 5, stats
        assert stats[side]["local"] == "relay", stats  # media went through the TURN server


def test_visit_pages_are_accessible_and_fit_a_phone(
    browsers: tuple[Any, Any], server: tuple[str, str]
) -> None:
    """axe-core and no sideways scroll at 390 px: the hours, booking, change and exam pages."""
    base, visit = server
    clinician, c_errors = _signed_in(browsers[1], base, "dr_dave")
    patient, p_errors = _signed_in(browsers[0], base, "alice")
    try:
        clinician.goto(f"{base}/clinic/hours")
        clinician.get_by_label("Monday").fill("09:00-12:00")
        clinician.get_by_role("button", name="Save the hours").click()
        clinician.wait_for_load_state()
        pages = [
            (clinician, "/clinic/hours"),
            (clinician, f"/care/visits/{visit}/exam"),
            (clinician, f"/care/visits/{visit}/change"),
            (patient, f"/care/visits/{visit}/exam"),
            (patient, f"/care/visits/{visit}/change"),
            (patient, f"/care/visits/{visit}"),
        ]
        for page, path in pages:
            page.goto(f"{base}{path}")
            _axe(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        patient.goto(f"{base}/care/visits/{visit}")
        patient.get_by_role("link", name="Back to your follow-up page").click()
        patient.wait_for_load_state()
        patient.get_by_role("link", name=re.compile("Pick a visit time")).first.click()
        patient.wait_for_load_state()
        assert "Book a tele-visit" in patient.content()
        _axe(patient)
        assert p_errors == [] and c_errors == []
    finally:
        patient.context.close()
        clinician.context.close()
