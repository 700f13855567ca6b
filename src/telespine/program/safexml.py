"""XML parsing that refuses entity declarations and external entities (billion laughs, XXE).

`expat_parser()` is a pyexpat parser with the handlers defusedxml also sets: a document that
declares an entity, uses an undeclared one or names an external DTD raises XMLRefused. A
DOCTYPE with element and attribute declarations only (as Apple Health's export.xml has) is
accepted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat


class XMLRefused(ValueError):
    """The document declares or uses an entity."""


def _entity_decl(
    name: str,
    is_parameter: bool,
    value: str | None,
    base: str | None,
    system_id: str | None,
    public_id: str | None,
    notation: str | None,
) -> None:
    raise XMLRefused("entity declarations are not allowed")


def _unparsed_entity_decl(
    name: str, base: str | None, system_id: str, public_id: str | None, notation: str
) -> None:
    raise XMLRefused("entity declarations are not allowed")


def _external_ref(context: str, base: str | None, system_id: str | None, public_id: str | None) -> int:
    raise XMLRefused("external entities are not allowed")


def _doctype(name: str, system_id: str | None, public_id: str | None, has_internal_subset: bool) -> None:
    if system_id or public_id:
        raise XMLRefused("an external DTD is not allowed")


def _skipped(name: str, is_parameter: bool) -> None:
    raise XMLRefused("an undeclared entity is not allowed")


def expat_parser() -> expat.XMLParserType:
    """A fresh namespace-unaware expat parser that refuses entities."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _entity_decl
    parser.UnparsedEntityDeclHandler = _unparsed_entity_decl
    parser.ExternalEntityRefHandler = _external_ref
    parser.StartDoctypeDeclHandler = _doctype
    parser.SkippedEntityHandler = _skipped
    return parser


def parse_text(text: str) -> ET.Element:
    """Parse a small whole document: first checked by the safe expat parser, then as a tree."""
    expat_parser().Parse(text.encode("utf-8"), True)
    return ET.fromstring(text)  # noqa: S314 - checked above: no entity can be declared or used
