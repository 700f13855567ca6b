"""The domain core imports no adapter: no web, database or FHIR code (docs/CONTRACTS.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "telespine"
DOMAIN = ["content", "triage", "instruments", "program", "care", "visits"]
FORBIDDEN = (
    "telespine.web",
    "telespine.services",
    "telespine.store",
    "telespine.fhir",
    "telespine.commands",
    "telespine.cli",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "psycopg",
)


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module name a file imports, absolute or relative (resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.add(node.module)
    return names


def forbidden_imports(path: Path, package: str | None = None) -> list[str]:
    names = imported_modules(path, package or package_of(path))
    return sorted(name for name in names if any(name == f or name.startswith(f + ".") for f in FORBIDDEN))


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_package_imports_no_adapter(package: str) -> None:
    offenders = {
        str(path.relative_to(SRC)): bad
        for path in sorted((SRC / package).rglob("*.py"))
        if (bad := forbidden_imports(path))
    }
    assert offenders == {}


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from ..store import models\nfrom . import engine\nimport fastapi\n", encoding="utf-8")
    assert forbidden_imports(probe, "telespine.triage") == ["fastapi", "telespine.store"]


# --- the service layer (issue 15): routes call services; services never import the web ------

SERVICE_FORBIDDEN = ("telespine.web", "fastapi", "starlette", "telespine.commands", "telespine.cli")
# Routes that offer a follow-up write (message, diary entry, re-answered assessment, check,
# override, clearing an escalation) on a page and in the API
FOLLOWUP_ROUTES = [
    "web/api/care.py",
    "web/pages/care.py",
    "web/api/routes.py",
    "web/pages/routes.py",
    "web/api/medicines.py",
    "web/pages/medicines.py",
    "web/pages/lessons.py",
]
# The workflow lives in services.followup: routes never run these store steps themselves
WORKFLOW_STEPS = (
    "add_floor",
    "clear_floors",
    "override_disposition",
    "add_message",
    "add_diary_row",
    "add_check",
)


def test_services_import_no_web_code() -> None:
    offenders = {}
    for path in sorted((SRC / "services").rglob("*.py")):
        names = imported_modules(path, package_of(path))
        bad = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in SERVICE_FORBIDDEN))
        if bad:
            offenders[str(path.relative_to(SRC))] = bad
    assert offenders == {}


@pytest.mark.parametrize("route", FOLLOWUP_ROUTES)
def test_followup_routes_call_the_service(route: str) -> None:
    path = SRC / route
    names = imported_modules(path, package_of(path))
    assert "telespine.services" in names or any(n.startswith("telespine.services.") for n in names)
    text = path.read_text(encoding="utf-8")
    assert [step for step in WORKFLOW_STEPS if f".{step}(" in text] == []


def _offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    offenders = {}
    for path in sorted((SRC / package).rglob("*.py")):
        names = imported_modules(path, package_of(path))
        bad = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
        if bad:
            offenders[str(path.relative_to(SRC))] = bad
    return offenders


def test_store_imports_no_service_and_no_web_code() -> None:
    # Demo seeding that needs the follow-up flow lives in services/demo.py, not in the store
    forbidden = ("telespine.services", "telespine.web", "telespine.commands", "telespine.cli")
    assert _offenders("store", forbidden) == {}


# Writes of an assessment, a visit request and a plan: only services.assessments and services.plans
# call these store steps (with the audit row); the web calls the services.
ASSESSMENT_WRITES = (
    "repo.save_assessment(",
    "request_visit(db, assessment=",
    "add_plan_answers(",
    "add_scores(",
)


def test_web_saves_assessments_visit_requests_and_plans_through_the_services() -> None:
    offenders = {
        str(path.relative_to(SRC)): found
        for path in sorted((SRC / "web").rglob("*.py"))
        if (found := [w for w in ASSESSMENT_WRITES if w in path.read_text(encoding="utf-8")])
    }
    assert offenders == {}


def test_checker_catches_a_store_module_importing_a_service(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from telespine.services import followup\n", encoding="utf-8")
    assert imported_modules(probe, "telespine.store") == {"telespine.services"}


# Audit rows (issue 15): every one is written by a service, with the write or read it records and
# its commit (services.reads, services.records, services.accounts, services.visits, ...); no module
# of the web calls the store's audit writer, imports it, or makes an AuditEvent row itself.


def audit_writes(path: Path, package: str | None = None) -> list[str]:
    """Where a file writes an audit row past the services: `.audit` (called or passed on), an import
    of `audit` from the store, an `AuditEvent(...)` made."""
    package = package or package_of(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "audit":
            found.append(f"{node.lineno} .audit")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "AuditEvent":
            found.append(f"{node.lineno} AuditEvent(")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.startswith("telespine.store") and any(a.name == "audit" for a in node.names):
                found.append(f"{node.lineno} import audit")
    return sorted(found, key=lambda hit: int(hit.split()[0]))


def test_web_writes_no_audit_row_past_the_services() -> None:
    offenders = {
        str(path.relative_to(SRC)): found
        for path in sorted((SRC / "web").rglob("*.py"))
        if (found := audit_writes(path))
    }
    assert offenders == {}


def test_checker_catches_an_audit_row_written_by_a_route(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from ..store.repo import audit\n"
        "from telespine.store.models import AuditEvent\n"
        "def page(db, user):\n"
        "    repo.audit(db, actor=user, action='list', object_type='case')\n"
        "    db.add(AuditEvent(action='read'))\n"
        "    select(AuditEvent)\n",
        encoding="utf-8",
    )
    assert audit_writes(probe, "telespine.web") == ["1 import audit", "4 .audit", "5 AuditEvent("]
