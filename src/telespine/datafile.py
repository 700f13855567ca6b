"""The one strict reader for telespine's YAML data files (rules, guides, advice, instruments ...).

Every data file goes through `load_yaml_text` / `load_yaml_file`: libyaml's C parser when
PyYAML has it (several times faster than the pure-Python one), the safe constructor only, and
a mapping that names a key twice is refused. `yaml.safe_load` silently keeps the last of two
equal keys, so a rule edited in two places would lose one of them without a word; here it is an
error naming the key and its line. Callers still validate the result with their strict Pydantic
models (unknown keys refused); this module only makes the parse itself strict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from telespine.errors import DataFileError

# The C parser when PyYAML was built with libyaml; the same safe constructor either way.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HAS_LIBYAML = _BaseLoader is not yaml.SafeLoader


class DuplicateKeyError(DataFileError):
    """A YAML mapping names the same key twice."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader whose mappings refuse duplicate keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    # Only the keys written in this mapping count; keys merged in with "<<" may be overridden.
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key (a list as a key): the constructor reports it
            continue
        line = key_node.start_mark.line + 1
        if first is not None:
            raise DuplicateKeyError(f"line {line}: key {key!r} is given twice (first on line {first})")
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_text(text: str, where: str = "<text>") -> Any:
    """Parse one YAML document strictly; DataFileError names `where` and the problem."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader (or CSafeLoader) subclass
    except DuplicateKeyError as exc:
        raise DuplicateKeyError(f"{where}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DataFileError(f"{where}: not valid YAML: {exc}") from exc


def load_yaml_file(path: Path | str) -> Any:
    """Read and parse a YAML data file strictly (UTF-8); DataFileError on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{p.name}: cannot read: {exc}") from exc
    return load_yaml_text(text, p.name)
