"""A real `telespine serve` in a subprocess on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from telespine.web.testing import TEST_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")


@contextmanager
def serve(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    python_path: str | None = None,
    timeout: float = 60.0,
) -> Iterator[Served]:
    """Run `telespine serve` (stdout and stderr to log_path) until the block ends."""
    port = free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TELESPINE_") and k != "DATABASE_URL"},
        "TELESPINE_ENV": "test",
        "TELESPINE_SECRET_KEY": TEST_SECRET,
        "TELESPINE_DEMO_DATA": "false",
        "TELESPINE_REQUIRE_TOTP": "false",
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    if python_path:
        environ["PYTHONPATH"] = python_path
    cmd = [sys.executable, "-m", "telespine.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), *extra_args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=environ, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server ended early: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/v1/ping", timeout=2) as resp:  # noqa: S310 -- loopback
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)  # a start takes seconds: poll often, the refused connects are cheap
        yield Served(url=url, process=proc, log_path=log_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
