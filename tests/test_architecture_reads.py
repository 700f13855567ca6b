"""Pages and the API read messages, diary entries, medicine diary entries, visit notes and
addenda only through telespine.services.records, which audits each read by kind (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[1] / "src" / "telespine" / "web"
# The unaudited readers of these records (store and services use them for rules and writes).
UNAUDITED = {"messages_for_case", "diary_for_case", "addenda_of", "medicine_rows", "diary_lines"}


def _calls(path: Path, root: Path = WEB) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in UNAUDITED:
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}")
    return found


def test_web_reads_follow_up_records_only_through_the_audited_service() -> None:
    offenders = [hit for path in sorted(WEB.rglob("*.py")) for hit in _calls(path)]
    assert offenders == []


def test_the_guard_sees_a_direct_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def page(db, case):\n    return repo_care.messages_for_case(db, case)\n")
    assert _calls(sample, tmp_path) == ["sample.py:2 messages_for_case"]
