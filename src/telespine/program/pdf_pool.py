"""Where plan PDFs are made: in this process, or in a recycled helper process (issue 16).

WeasyPrint keeps caches (fonts, images, styles) that grew a web worker by about 0.24 MB per PDF
with no plateau. The served app (`create_app(warm_up=True)`) calls `use_helper_process()`:
each PDF is then made in one helper process that is replaced after `TASKS_PER_PROCESS` PDFs, so
the worker's memory stays flat and the helper's is bounded. The request's thread waits for the
PDF (the routes are sync: never the event loop). If the helper cannot be used (it died, the
machine cannot start processes), the PDF is made in this process: a patient always gets it.
Tests and the command line make PDFs in process.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("telespine.program")

TASKS_PER_PROCESS = 50
TIMEOUT_SECONDS = 120

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_enabled = False


def use_helper_process(enabled: bool = True) -> None:
    """Make PDFs in the recycled helper process from now on (or, with False, in process)."""
    global _enabled, _pool
    with _lock:
        _enabled = enabled
        if not enabled and _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
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


def html_to_pdf(html: str) -> bytes:
    """The PDF of an HTML document (WeasyPrint), in the helper process when it is in use."""
    global _pool
    if not _enabled:
        return _html_to_pdf(html)
    try:
        return _get_pool().submit(_html_to_pdf, html).result(timeout=TIMEOUT_SECONDS)
    except Exception as exc:  # the helper died or timed out: make it here, and start a new one
        log.error("PDF helper process failed: %s; making the PDF in process", type(exc).__name__)
        with _lock:
            broken, _pool = _pool, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        return _html_to_pdf(html)
