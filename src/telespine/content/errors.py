"""The errors of telespine.content: a broken guide file, an unknown guide."""

from __future__ import annotations

from pathlib import Path

from telespine.errors import TelespineError


class GuideError(TelespineError, ValueError):
    """A guide or source file that cannot be used; names the file and the offending key."""

    def __init__(self, path: Path | str, problem: str, key: str | None = None) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f" at {key}" if key else ""
        super().__init__(f"{self.path}{where}: {problem}")


class UnknownGuideError(LookupError):
    """No guide for this condition or audience; carries the valid choices."""

    def __init__(self, what: str, value: str, choices: list[str]) -> None:
        self.what = what
        self.value = value
        self.choices = choices
        super().__init__(f"unknown {what} {value!r}; choose one of: {', '.join(choices) or '(none)'}")
