"""The production set-up of docs/deployment.md (issue 13): deploy/nginx.conf in front of
`telespine serve --workers 2` (nginx from Debian, on loopback ports with a throw-away
certificate), and a backup with deploy/backup.sh restored by deploy/restore.sh into a new
PostgreSQL database that the app then serves."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from telespine.store import repo
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import Base, LoginAttempt

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECRET_QUERY = "capybara-numb-groin"


def _nginx_conf(tmp: Path, https_port: int, http_port: int, app_port: int) -> Path:
    conf = (DEPLOY / "nginx.conf").read_text()
    swaps = {
        "pid /run/nginx.pid;": f"pid {tmp}/nginx.pid;",
        "error_log /var/log/nginx/error.log warn;": f"error_log {tmp}/error.log warn;",
        "access_log /var/log/nginx/access.log telespine;": f"access_log {tmp}/access.log telespine;",
        "include /etc/nginx/mime.types;": "include /etc/nginx/mime.types;\n    "
        f"client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi; "
        f"uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/ssl/telespine/fullchain.pem": f"{tmp}/cert.pem",
        "/etc/ssl/telespine/privkey.pem": f"{tmp}/key.pem",
    }
    for old, new in swaps.items():
        assert old in conf, old  # the documented file still has what the test swaps
        conf = conf.replace(old, new)
    path = tmp / "nginx.conf"
    path.write_text(conf)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(tmp / "key.pem"),
            "-out",
            str(tmp / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return path


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(NGINX), reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_in_front_of_two_workers(clean_db: str, tmp_path: Path) -> None:
    from telespine.web import testing_server

    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as db:
        repo.create_user(db, username="dana", password="dana has a long password", role="patient")
        db.commit()
    engine.dispose()
    https_port, http_port = testing_server.free_port(), testing_server.free_port()
    env = {"TELESPINE_TRUSTED_PROXIES": "127.0.0.1", "TELESPINE_LOGIN_MAX_FAILURES_PER_ACCOUNT": "3"}
    with testing_server.serve(
        clean_db, tmp_path / "app.log", workers=2, env=env, extra_args=("--access-log",)
    ) as app:
        app_port = int(app.url.rsplit(":", 1)[1])
        conf = _nginx_conf(tmp_path, https_port, http_port, app_port)
        check = subprocess.run(
            [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        proxy = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"https://127.0.0.1:{https_port}"
            for _ in range(50):
                try:
                    httpx.get(f"{base}/api/v1/ping", verify=False, timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            with httpx.Client(base_url=base, verify=False, timeout=30) as client:
                assert client.get("/api/v1/ping").status_code == 200
                plain = httpx.get(f"http://127.0.0.1:{http_port}/guides", follow_redirects=False)
                assert plain.status_code == 301 and plain.headers["location"].startswith("https://")
                assert client.get("/metrics").status_code == 404  # not through the proxy
                assert client.get("/guides/search", params={"q": SECRET_QUERY}).status_code == 200
                # A client's own X-Forwarded-For is dropped: rotating it does not dodge the limit.
                codes = [
                    client.post(
                        "/api/v1/auth/login",
                        json={"username": "dana", "password": f"wrong password {i}"},
                        headers={"X-Forwarded-For": f"198.51.100.{i}"},
                    ).status_code
                    for i in range(5)
                ]
            # The app's own metrics, on its port from this machine, summed over both workers.
            scrape = httpx.get(f"{app.url}/metrics", timeout=10).text
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
        app_log = app.log_text()
    assert codes == [401, 401, 401, 429, 429]
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as db:
        ips = set(db.scalars(select(LoginAttempt.ip)).all())
    engine.dispose()
    assert ips == {"127.0.0.1"}  # the real client (nginx's peer), not the forged addresses
    access = (tmp_path / "access.log").read_text()
    assert "/guides/search" in access and SECRET_QUERY not in access and SECRET_QUERY not in app_log
    assert 'route="/api/v1/auth/login"' in scrape


def _pg_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("pg_dump backups are for PostgreSQL (SQLite: copy the file with sqlite3 .backup)")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore not installed")


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            out = {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in Base.metadata.sorted_tables
            }
            out["alembic_version"] = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
            return out
    finally:
        engine.dispose()


def test_backup_and_restore_with_the_deploy_scripts(seeded_url: str, tmp_path: Path) -> None:
    _pg_only(seeded_url)
    import psycopg

    made = subprocess.run(
        [str(DEPLOY / "backup.sh"), seeded_url, str(tmp_path / "backups")],
        capture_output=True,
        text=True,
        check=True,
    )
    dump = Path(made.stdout.strip().splitlines()[-1])
    assert dump.exists() and dump.stat().st_size > 1000 and oct(dump.stat().st_mode)[-3:] == "600"
    admin = seeded_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    name = f"telespine_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    restored = seeded_url.rsplit("/", 1)[0] + "/" + name
    try:
        subprocess.run(
            [str(DEPLOY / "restore.sh"), str(dump), restored], capture_output=True, text=True, check=True
        )
        before, after = _counts(seeded_url), _counts(restored)
        assert after == before and before["assessment_versions"] > 0 and before["users"] >= 6
        # The restored database serves: alice signs in and reads her assessments.
        from fastapi.testclient import TestClient

        from telespine.store.demo import demo_password
        from telespine.web.app import create_app
        from telespine.web.testing import make_test_settings

        app = create_app(make_test_settings(restored))
        with TestClient(app, base_url="https://testserver") as client:
            r = client.post(
                "/api/v1/auth/login", json={"username": "alice", "password": demo_password("alice")}
            )
            assert r.status_code == 200
            mine = client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {r.json()['token']}"})
            assert mine.status_code == 200 and mine.json()
        app.state.engine.dispose()
    finally:
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
