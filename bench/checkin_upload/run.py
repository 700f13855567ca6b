"""End to end: upload generated Apple Health exports (20 MB and 200 MB) to a real `telespine
serve` process through POST /api/v1/cases/{id}/steps; the server's peak RSS and the time.

Usage: .venv/bin/python bench/checkin_upload/run.py [--small 20] [--large 200] [--dir /tmp]

The server process is sampled with psutil every 20 ms (with its children) before and during each
upload. Flat memory means the peak during the 200 MB upload is close to the one during 20 MB:
the form parser spools the file to a temporary file and the parser reads it as a stream.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from telespine.store.demo import demo_password
from telespine.web.testing import seeded_sqlite_url
from telespine.web.testing_server import serve

HERE = Path(__file__).resolve().parent


def _writer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("wearables_bench", HERE.parent / "wearables" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_export


class Sampler:
    """Peak RSS of a process and its children, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a child that just ended
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=20)
    ap.add_argument("--large", type=int, default=200)
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"))
    args = ap.parse_args()
    write_export = _writer()
    folder = Path(tempfile.mkdtemp(dir=args.dir))
    url = seeded_sqlite_url(folder)
    with serve(url, folder / "serve.log") as served:
        client = httpx.Client(base_url=served.url, timeout=600)
        token = client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": demo_password("alice")}
        ).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        assessment = client.get("/api/v1/assessments").json()[0]["id"]
        case = client.get(f"/care/assessments/{assessment}", follow_redirects=False).headers["location"]
        case_id = case.rstrip("/").split("/")[-1]
        pid = served.process.pid
        for label, mb in (("small", args.small), ("large", args.large)):
            path = folder / f"export-{mb}mb.xml"
            records, size = write_export(path, mb)
            with Sampler(pid) as sampler:
                idle = sampler.peak
                t0 = time.perf_counter()
                with path.open("rb") as f:
                    r = client.post(
                        f"/api/v1/cases/{case_id}/steps", files={"file": ("export.xml", f, "text/xml")}
                    )
                took = time.perf_counter() - t0
            path.unlink()
            assert r.status_code == 201, r.text[:300]
            days = r.json()["days"]
            print(
                f"{label}: {size / 1e6:.0f} MB, {records} step records -> {days} days; upload and parse "
                f"{took:.1f} s ({size / 1e6 / took:.1f} MB/s); server RSS before {idle / 2**20:.0f} MiB, "
                f"peak {sampler.peak / 2**20:.0f} MiB (+{(sampler.peak - idle) / 2**20:.0f} MiB)"
            )


if __name__ == "__main__":
    main()
