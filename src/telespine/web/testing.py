"""Helpers for tests of the web app (used by telespine's own suite and by deployments' tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telespine.settings import Settings

TEST_SECRET = "test-secret-key-that-is-long-enough-for-telespine-0123456789"  # noqa: S105 -- tests only


def make_test_settings(url: str, **overrides: Any) -> Settings:
    """Settings for an app under test: test mode, a real-looking secret, the given database."""
    # Two-step sign-in is required outside development; tests of it pass require_totp=True.
    values: dict[str, Any] = {
        "env": "test",
        "secret_key": TEST_SECRET,
        "database_url": url,
        "require_totp": False,
    }
    values.update(overrides)
    return Settings(**values)


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login(make_client: Callable[[str], Any], url: str, name: str) -> Any:
    """A client signed in on the pages (session cookie) as the named demo user."""
    from telespine.store.demo import demo_password

    client = make_client(url)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": name, "password": demo_password(name), "csrf_token": token})
    assert r.status_code == 200, r.text[:300]
    return client


def bearer(make_client: Callable[[str], Any], url: str, name: str) -> Any:
    """A client signed in on the API (bearer token) as the named demo user."""
    from telespine.store.demo import demo_password

    client = make_client(url)
    r = client.post("/api/v1/auth/login", json={"username": name, "password": demo_password(name)})
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return client


def bearer_clients(url: str, users: list[str], follow_redirects: bool = True) -> dict[str, Any]:
    """The authorization walk's clients: one app, a bearer-token API client per named demo user
    (no cookie, so no CSRF token is needed) and "anon", signed in to nothing."""
    from fastapi.testclient import TestClient

    from telespine.store.demo import demo_password
    from telespine.web.app import create_app

    app = create_app(make_test_settings(url))
    out: dict[str, Any] = {"anon": TestClient(app, follow_redirects=follow_redirects)}
    for name in users:
        client = TestClient(app, follow_redirects=follow_redirects)
        r = client.post("/api/v1/auth/login", json={"username": name, "password": demo_password(name)})
        assert r.status_code == 200, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        client.cookies.clear()  # bearer only
        out[name] = client
    return out


# ---- live servers and Chromium, for browser and end-to-end tests -----------------------------

CHROMIUM_ENV = "TELESPINE_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"  # Debian's package; never a downloaded browser
# As the machine's own probe starts it: headless, as root, on a closed network.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


def chromium_path() -> str:
    """The Chromium to drive: TELESPINE_CHROMIUM, else Debian's /usr/bin/chromium."""
    import os

    return os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def seeded_sqlite_url(folder: Any, demo: bool = True) -> str:
    """A migrated SQLite database in folder (with the demo data unless demo=False); its URL."""
    from telespine.store.db import make_engine, make_sessionmaker, session_scope, upgrade

    url = f"sqlite:///{folder / 'app.sqlite3'}"
    upgrade(url)
    if demo:
        from telespine.services.demo import seed_demo
        from telespine.web.clinical import run_triage

        engine = make_engine(url)
        with session_scope(make_sessionmaker(engine)) as db:
            seed_demo(db, triage=run_triage)
        engine.dispose()
    return url


class LiveServer:
    """A uvicorn server for an app in a thread on a free loopback port; `url` once started."""

    def __init__(self, app: Any, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
        import threading

        import uvicorn

        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._timeout = timeout

    def __enter__(self) -> LiveServer:
        import time

        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def check_page(page: Any, name: str, artifacts: Any) -> None:
    """axe-core finds no serious or critical violation; no sideways scroll at 390px; a full-page
    screenshot saved as artifacts/<name>.png."""
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name} scrolls sideways: {width}px"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


# ---- WebRTC in Chromium (tests/web/test_web_visits_browser.py, test_web_visit_done_browser.py) ----

# A fake camera and microphone, and no permission prompt.
FAKE_MEDIA_ARGS = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
# static/visit.js keeps its RTCPeerConnection on window.tsVisit.pc.
PC_CONNECTED = (
    "() => window.tsVisit && window.tsVisit.pc && window.tsVisit.pc.connectionState === 'connected'"
)
PC_FRAMES = """async () => {
  const stats = await window.tsVisit.pc.getStats();
  let video = null, pair = null, local = {};
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') { video = s; }
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') { pair = s; }
    if (s.type === 'local-candidate') { local[s.id] = s.candidateType; }
  });
  return { received: video ? video.framesReceived : 0, decoded: video ? video.framesDecoded : 0,
           local: pair ? local[pair.localCandidateId] : null };
}"""


def decoded_frames(page: Any, at_least: int = 5, timeout: float = 30.0) -> dict[str, Any]:
    """getStats() polled until the inbound video has decoded more than `at_least` frames (or the
    timeout): {received, decoded, local (the nominated pair's local candidate type)}."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, Any] = page.evaluate(PC_FRAMES)
        if stats["decoded"] > at_least or time.monotonic() > deadline:
            return stats
        time.sleep(0.25)
