"""Jinja2 templates with the deployment's globals (emergency number) and autoescaping on."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from markupsafe import Markup

from telespine.settings import Settings
from telespine.web.clinical import EMERGENCY_PLACEHOLDER, guide_references

HERE = Path(__file__).parent

DISPOSITION_LABELS = {
    "emergency": "Emergency",
    "urgent": "Be seen today",
    "prompt": "See a doctor in 1 to 3 days",
    "routine": "Book a routine visit",
    "telemedicine": "Telemedicine can help",
}


class _ProcessBytecode(BytecodeCache):
    """Compiled templates kept for the process, shared by every app's environment. Jinja stores a
    checksum of the source with each compiled template and compiles an edited file again. An app
    compiles each template once otherwise; the tests make an app per test."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            self._code[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _ProcessBytecode()


def make_templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.bytecode_cache = _BYTECODE
    env.autoescape = True
    env.globals["emergency_number"] = settings.emergency_number
    number = settings.emergency_number

    def finalize(value: Any) -> Any:
        """Every printed text shows the configured emergency number, never the data placeholder."""
        if isinstance(value, str) and EMERGENCY_PLACEHOLDER in value:
            return value.replace(EMERGENCY_PLACEHOLDER, number)  # Markup.replace escapes the number
        return value

    env.finalize = finalize  # read when a template is compiled, so before the first render
    env.globals["disposition_labels"] = DISPOSITION_LABELS
    env.globals["is_development"] = settings.is_development
    env.globals["guide_references"] = guide_references  # "Sources:" under each guide section

    def trusted(html: str) -> Markup:
        """HTML produced by content's own autoescaping renderer."""
        return Markup(html)  # noqa: S704 -- rendered by telespine.content with autoescape on

    env.filters["trusted"] = trusted

    def date(value: Any) -> str:
        return value.strftime("%d %b %Y, %H:%M UTC") if value is not None else ""

    env.filters["date"] = date
    return templates
