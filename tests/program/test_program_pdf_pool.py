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
    pids = list(pool._processes)  # type: ignore[attr-defined]
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
