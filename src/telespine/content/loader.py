"""Strict loading of guide files and of sources.yaml: unknown keys and unknown sources are errors."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from telespine.datafile import load_yaml_file
from telespine.errors import DataFileError
from telespine.triage.types import Audience

from .checks import check_guide
from .emergency import DEFAULT_EMERGENCY_NUMBER
from .errors import GuideError, UnknownGuideError
from .model import Guide, SourceRegistry

PACKAGE_DIR = Path(__file__).resolve().parent
GUIDES_DIR = PACKAGE_DIR / "guides"
SOURCES_FILE = PACKAGE_DIR / "sources.yaml"
AUDIENCES: tuple[Audience, ...] = get_args(Audience)
M = TypeVar("M", bound=BaseModel)
__all__ = [
    "GUIDES_DIR",
    "GuideError",
    "UnknownGuideError",
    "discover",
    "load_all",
    "load_guide",
    "load_guide_file",
    "load_sources",
]


def _loc(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic location into a readable path such as sections[3].flags[0].text."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _first_error(path: Path, exc: ValidationError) -> GuideError:
    """The first validation error as a GuideError naming file and key."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        return GuideError(path, f"unknown key {key!r}", _loc(loc))
    if err["type"] == "missing":
        return GuideError(path, f"missing key {loc[-1]!r}", _loc(loc))
    return GuideError(path, str(err["msg"]), _loc(loc) or None)


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml_file(path)
    except OSError as exc:
        raise GuideError(path, f"cannot read file: {exc.strerror or exc}") from exc
    except DataFileError as exc:
        raise GuideError(path, f"not valid YAML: {exc}") from exc


def _parse(path: Path, model: type[M]) -> M:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise GuideError(path, "the file must hold a mapping at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _first_error(path, exc) from exc


@lru_cache(maxsize=8)
def load_sources(path: Path = SOURCES_FILE) -> SourceRegistry:
    """The source registry (cached)."""
    return _parse(path, SourceRegistry)


def _guide_path(guides_dir: Path, condition: str, audience: str) -> Path:
    return guides_dir / f"{condition}.{audience}.yaml"


def discover(guides_dir: Path | None = None) -> list[tuple[str, Audience]]:
    """Every (condition, audience) that has a file <condition>.<audience>.yaml, sorted."""
    folder = guides_dir or GUIDES_DIR
    found: list[tuple[str, Audience]] = []
    for path in sorted(folder.glob("*.yaml")):
        condition, _, audience = path.name.removesuffix(".yaml").rpartition(".")
        for known in AUDIENCES:
            if audience == known and condition:
                found.append((condition, known))
    return found


def load_guide_file(path: Path, sources: SourceRegistry | None = None) -> Guide:
    """Load and check one guide file as written (placeholders unfilled): schema, name, sources, safety."""
    guide = _parse(path, Guide)
    expected = f"{guide.condition}.{guide.audience}.yaml"
    if path.name != expected:
        raise GuideError(path, f"file name must be {expected!r} to match condition and audience")
    registry = sources or load_sources()
    for index, section in enumerate(guide.sections):
        for key in section.sources:
            if key not in registry.sources:
                raise GuideError(
                    path, f"unknown source {key!r} (add it to sources.yaml)", f"sections[{index}].sources"
                )
    check_guide(path, guide)
    return guide


@lru_cache(maxsize=64)
def _load_cached(path: Path) -> Guide:
    return load_guide_file(path)


@lru_cache(maxsize=64)
def _filled_cached(path: Path, emergency_number: str) -> Guide:
    return _load_cached(path).filled(emergency_number)


def load_guide(
    condition: str,
    audience: str,
    guides_dir: Path | None = None,
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER,
) -> Guide:
    """The checked guide with the emergency number filled in; UnknownGuideError lists valid choices."""
    folder = guides_dir or GUIDES_DIR
    available = discover(folder)
    conditions = sorted({c for c, _ in available})
    if condition not in conditions:
        raise UnknownGuideError("condition", condition, conditions)
    audiences: list[str] = [a for c, a in available if c == condition]
    if audience not in audiences:
        raise UnknownGuideError("audience", audience, audiences)
    return _filled_cached(_guide_path(folder, condition, audience).resolve(), emergency_number)


def load_all(guides_dir: Path | None = None, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> list[Guide]:
    """Every discovered guide, loaded, checked and filled with the emergency number."""
    return [load_guide(c, a, guides_dir, emergency_number) for c, a in discover(guides_dir)]
