"""Plan PDFs through the recycled helper process (program/pdf_pool.py; issue 16)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from telespine.program import pdf_pool

HTML = "<!doctype html><html lang=en><title>Plan</title><p>Walk a little every day.</p></html>"


@pytest.fixture
def helper() -> Iterator[None]:
    pdf_pool.use_helper_process()
    try:
        yield
    finally:
        pdf_pool.use_helper_process(False)


def test_a_pdf_is_made_in_the_helper_process_and_after_it_dies(
    helper: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pdf_pool.html_to_pdf(HTML)
    assert first.startswith(b"%PDF")
    pool = pdf_pool._pool
    assert pool is not None
    pids = list(pool._processes)
    assert pids and os.getpid() not in pids  # made elsewhere, not in this process
    for pid in pids:  # the helper dies: the next PDF is still made (here), and a new helper starts
        os.kill(pid, 9)
    again = pdf_pool.html_to_pdf(HTML)
    assert again.startswith(b"%PDF")
    assert pdf_pool.html_to_pdf(HTML).startswith(b"%PDF")
    assert pdf_pool._pool is not None and pdf_pool._pool is not pool


def test_without_the_helper_pdfs_are_made_in_process() -> None:
    assert pdf_pool._pool is None
    assert pdf_pool.html_to_pdf(HTML).startswith(b"%PDF")
    assert pdf_pool._pool is None


def test_a_stuck_helper_is_killed_and_a_queue_never_times_out_one_another(
    helper: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rendering past the timeout kills the helper process (not left running) and the PDF is
    made here; while one PDF is in the helper, another waits for its turn rather than timing
    out, and one that waits too long is made here without touching the helper."""
    import threading
    import time

    assert pdf_pool.html_to_pdf(HTML).startswith(b"%PDF")  # the helper is up
    pool = pdf_pool._pool
    assert pool is not None
    stuck = list(pool._processes.values())
    monkeypatch.setattr(pdf_pool, "TIMEOUT_SECONDS", 0.001)  # every rendering now "hangs"
    assert pdf_pool.html_to_pdf(HTML).startswith(b"%PDF")  # made here instead
    assert pdf_pool._pool is None
    for process in stuck:
        process.join(timeout=10)
        assert not process.is_alive()  # killed, not left running

    monkeypatch.setattr(pdf_pool, "TIMEOUT_SECONDS", 120)
    monkeypatch.setattr(pdf_pool, "QUEUE_SECONDS", 0.05)
    assert pdf_pool._turn.acquire(timeout=1)  # another request holds the helper
    try:
        start = time.monotonic()
        assert pdf_pool.html_to_pdf(HTML).startswith(b"%PDF")  # waited its turn, then made here
        assert time.monotonic() - start < 60
    finally:
        pdf_pool._turn.release()
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(pdf_pool.html_to_pdf(HTML))) for _ in range(3)]
    monkeypatch.setattr(pdf_pool, "QUEUE_SECONDS", 60)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 3 and all(r.startswith(b"%PDF") for r in results)
    assert pdf_pool._pool is not None  # the queue went through the helper, none timed out
