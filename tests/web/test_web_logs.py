"""No health data in any log (issue 13): out-of-range times are 422, no log line carries SQL
parameters, request bodies, free text or query strings; a real server's logs are searched."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from telespine.store import repo
from telespine.store.db import make_engine, make_sessionmaker
from telespine.web.logs import JsonFormatter, SafeFormatter

EDGE = "0001-01-01T00:00:00+14:00"
# Free text that must never reach a log: a message body, a search, a password, a diary-like note.
SECRETS = (
    "zebrafinch numb saddle since tuesday",
    "quokka bladder accident",
    "marmoset password 4471",
    "wombat-search-words",
    "several_days",
)


def _user(url: str) -> None:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            repo.create_user(db, username="pat", password="pat has a long password", role="patient")
            db.commit()
    finally:
        engine.dispose()


def _bearer(client: Any) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": "pat", "password": "pat has a long password"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _phq2(taken_at: str) -> dict[str, Any]:
    return {
        "instrument": "phq2",
        "responses": {"interest": "several_days", "down": "nearly_every_day"},
        "taken_at": taken_at,
    }


@pytest.mark.parametrize("when", [EDGE, "9999-12-31T23:59:59-14:00", "1066-10-14T09:00:00Z"])
def test_out_of_range_times_are_422(make_client: Callable[..., Any], clean_db: str, when: str) -> None:
    _user(clean_db)
    client = make_client(clean_db)
    auth = _bearer(client)
    profile = client.get("/api/v1/me", headers=auth).json()["profiles"][0]["id"]
    r = client.post(f"/api/v1/profiles/{profile}/scores", json=_phq2(when), headers=auth)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] and "several_days" not in r.text
    stateless = client.post(
        "/api/v1/instruments/phq2/score", json={k: v for k, v in _phq2(when).items() if k != "instrument"}
    )
    assert stateless.status_code == 422
    audit = client.get("/api/v1/audit", params={"since": "0001-01-01T00:00:00+14:00"}, headers=auth)
    assert audit.status_code in (404, 422)  # pat is no admin: 404 before the time is read


def test_a_time_the_database_cannot_hold_is_422_not_500(
    make_client: Callable[..., Any], clean_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The backstop: a route that stores such a time unchecked still answers 422, logs no values."""
    import datetime as dt

    from telespine.store.models import LoginAttempt

    client = make_client(clean_db)
    app = client.app

    def store_edge() -> dict[str, str]:
        factory = app.state.sessionmaker
        with factory() as db:
            edge = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))
            db.add(LoginAttempt(username=SECRETS[0][:60], ip="x", success=False, at=edge))
            db.commit()
        return {}

    app.add_api_route("/api/v1/test-edge", store_edge, methods=["GET"])
    caplog.set_level(logging.DEBUG)
    r = client.get("/api/v1/test-edge")
    assert r.status_code == 422 and r.json()["errors"][0]["problem"] == "the time is out of range"
    assert SECRETS[0] not in caplog.text


def test_sql_parameters_never_appear_in_errors(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn, pytest.raises(StatementError) as info:
            conn.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": SECRETS[1]})
        assert SECRETS[1] not in str(info.value)
        assert engine.echo is False and engine.hide_parameters is True
    finally:
        engine.dispose()


def test_formatters_withhold_exception_messages() -> None:
    try:
        raise ValueError(f"patient said {SECRETS[0]}") from KeyError(SECRETS[1])
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, exc_info=__import__("sys").exc_info()
        )
    for formatter in (SafeFormatter("%(message)s"), JsonFormatter()):
        out = formatter.format(record)
        assert "ValueError" in out and "KeyError" in out
        assert SECRETS[0] not in out and SECRETS[1] not in out


@pytest.mark.slow
@pytest.mark.parametrize("json_logs", [False, True])
def test_server_logs_hold_no_free_text(clean_db: str, tmp_path: Path, json_logs: bool) -> None:
    from telespine.web.testing_server import serve

    _user(clean_db)
    log_path = tmp_path / "server.log"
    env = {"TELESPINE_JSON_LOGS": "true" if json_logs else "false"}
    with serve(clean_db, log_path, extra_args=("--access-log",), env=env) as served:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            auth = _bearer(client)
            profile = client.get("/api/v1/me", headers=auth).json()["profiles"][0]["id"]
            # A score at the edge of the datetime range with PHQ-2 answers: 422, not a 500.
            edge = client.post(f"/api/v1/profiles/{profile}/scores", json=_phq2(EDGE), headers=auth)
            assert edge.status_code == 422
            # Free text in a search query string, an invalid body, a wrong password, a bad findings doc.
            assert client.get("/guides/search", params={"q": SECRETS[3]}).status_code == 200
            assert client.get("/api/v1/guides/search", params={"q": SECRETS[0]}).status_code == 200
            bad = client.post(
                "/api/v1/triage",
                content=f'{{"note": "{SECRETS[1]}", "note": 1}}',
                headers={"content-type": "application/json"},
            )
            assert bad.status_code in (400, 422)
            assert (
                client.post(
                    "/api/v1/auth/login", json={"username": "pat", "password": SECRETS[2]}
                ).status_code
                == 401
            )
            client.post(
                "/api/v1/triage", content=SECRETS[0].encode(), headers={"content-type": "application/json"}
            )
        log = served.log_text()
    # The server did log the requests (paths), just never their text.
    assert "/api/v1/guides/search" in log and "/api/v1/auth/login" in log
    assert (" 422 " in log) if not json_logs else ('"status": 422' in log)
    found = [s for s in SECRETS if s in log]
    assert found == [], found
    assert "?" not in "".join(line for line in log.splitlines() if "/search" in line)
