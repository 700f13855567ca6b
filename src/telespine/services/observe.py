"""Timings the services report to whoever listens (the web's Prometheus metrics), without the
services importing an adapter."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

screening_listeners: list[Callable[[float], None]] = []


@contextmanager
def screening() -> Iterator[None]:
    """Time one screening; listeners get the seconds (never the text)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        for listener in list(screening_listeners):
            with contextlib.suppress(Exception):  # a metrics failure must never fail a screening
                listener(seconds)
