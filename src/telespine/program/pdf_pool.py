"""Where plan PDFs are made: in this process, or in a recycled helper process (issue 16).

WeasyPrint keeps caches (fonts, images, styles) that grew a web worker by about 0.24 MB per PDF
with no plateau. The served app (`create_app(warm_up=True)`) calls `use_helper_process()`:
each PDF is then made in one helper process that is replaced after `TASKS_PER_PROCESS` PDFs, so
the worker's memory stays flat and the helper's is bounded. The request's thread waits for the
PDF (the routes are sync: never the event loop). If the helper cannot be used (it died, the
machine cannot start processes), the PDF is made in this process: a patient always gets it.
Tests and the command line make PDFs in process.

One PDF at a time goes to the helper: a request waits up to QUEUE_SECONDS for its turn (and
then makes its PDF here), and TIMEOUT_SECONDS counts only its own rendering, so a queue of
requests never times out one another. A rendering that runs past TIMEOUT_SECONDS means a stuck
helper: it is killed (never left running) and the next PDF starts a new one. Only the pool a
request used is replaced, so two failing requests never throw away a fresh helper.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("telespine.program")

TASKS_PER_PROCESS = 50
TIMEOUT_SECONDS = 120  # one rendering in the helper
QUEUE_SECONDS = 30  # waiting for the helper's turn; then the PDF is made in this process

_lock = threading.Lock()
_turn = threading.BoundedSemaphore(1)  # the helper has one process: one PDF in it at a time
_pool: ProcessPoolExecutor | None = None
_enabled = False


def use_helper_process(enabled: bool = True) -> None:
    """Make PDFs in the recycled helper process from now on (or, with False, in process)."""
    global _enabled, _pool
    with _lock:
        _enabled = enabled
        if not enabled and _pool is not None:
            _kill(_pool)
            _pool = None


def _html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: WeasyPrint loads slowly and only PDFs need it

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # spawn: the web worker has threads, and a forked copy of them could deadlock
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=TASKS_PER_PROCESS,
            )
        return _pool


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool whose helper is stuck or dead: its processes are terminated, not left running."""
    processes = list(getattr(pool, "_processes", {}).values())  # the executor keeps them here
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):  # already gone
            process.terminate()


def _retire(pool: ProcessPoolExecutor) -> None:
    """Replace this pool (and only this one: another request may have started a new one)."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    _kill(pool)


def html_to_pdf(html: str) -> bytes:
    """The PDF of an HTML document (WeasyPrint), in the helper process when it is in use."""
    if not _enabled:
        return _html_to_pdf(html)
    if not _turn.acquire(timeout=QUEUE_SECONDS):  # a long queue: never keep the patient waiting
        log.warning("PDF helper busy; making the PDF in process")
        return _html_to_pdf(html)
    pool: ProcessPoolExecutor | None = None
    try:
        pool = _get_pool()
        return pool.submit(_html_to_pdf, html).result(timeout=TIMEOUT_SECONDS)
    except Exception as exc:  # the helper died, is stuck or could not start: make it here
        log.error("PDF helper process failed: %s; making the PDF in process", type(exc).__name__)
        if pool is not None:
            _retire(pool)
    finally:
        _turn.release()
    return _html_to_pdf(html)  # outside the helper's turn: the next request may use a new helper
