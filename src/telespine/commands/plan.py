"""`telespine plan`: write the personal back-pain plan (PDF or HTML) from findings and answers."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from telespine.datafile import load_yaml_text
from telespine.errors import DataFileError
from telespine.instruments import INSTRUMENT_IDS
from telespine.program.plan import (
    Plan,
    PlanAnswers,
    PlanAnswersError,
    build_plan,
    parse_answers,
    render_html,
    render_pdf,
    safety_net_plan,
)
from telespine.triage import FindingsError, triage
from telespine.triage.emergency import builtin_safety_net
from telespine.triage.types import Audience, audience_for_age

# Printed when not even the safety-net plan can be written: a failure must never be silent.
SAFETY_NET = builtin_safety_net(None, "We could not make your plan.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _read(path: Path) -> Any:
    """Read a JSON or YAML document (by suffix; JSON by default)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        return load_yaml_text(text, path.name)
    return json.loads(text)


def _write(plan: Plan, fmt: str, out: Path) -> None:
    if fmt == "html":
        html = render_html(plan)
        if str(out) == "-":
            sys.stdout.write(html)
        else:
            out.write_text(html, encoding="utf-8")
    else:
        out.write_bytes(render_pdf(plan))


def _audience_guess(doc: object) -> Audience:
    age = doc.get("age_years") if isinstance(doc, dict) else None
    if isinstance(age, int | float) and not isinstance(age, bool):
        return audience_for_age(age)
    return "adult"


def plan_command(
    findings: Path = typer.Option(..., "--findings", help="Findings document (JSON or YAML)."),
    out: Path = typer.Option(..., "--out", help="Where to write the plan ('-' for HTML on stdout)."),
    answers: Path | None = typer.Option(
        None, "--answers", help="Answers file: medicines, questionnaires, choices (JSON or YAML)."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="pdf or html (default: from the --out suffix, else pdf)."
    ),
    disable_instrument: list[str] = typer.Option(
        [], "--disable-instrument", help="Switch a questionnaire off for this deployment (repeatable)."
    ),
) -> None:
    """Write the personal plan: disposition and reasons, red flags, program, medicines, follow-up."""
    chosen = fmt or ("html" if out.suffix.lower() in (".html", ".htm") or str(out) == "-" else "pdf")
    if chosen not in ("pdf", "html"):
        raise _fail(f"--format must be pdf or html, not {chosen!r}")
    if chosen == "pdf" and str(out) == "-":
        raise _fail("a PDF cannot be written to stdout; give a file name")
    unknown = sorted(set(disable_instrument) - set(INSTRUMENT_IDS))
    if unknown:
        raise _fail(f"unknown instrument(s) {unknown}; known: {list(INSTRUMENT_IDS)}")
    enabled = [i for i in INSTRUMENT_IDS if i not in disable_instrument]
    try:
        doc = _read(findings)
    except (OSError, ValueError, DataFileError) as exc:
        raise _fail(f"cannot read findings {findings}: {exc}") from exc
    try:
        answer_doc = _read(answers) if answers else {}
    except (OSError, ValueError, DataFileError) as exc:
        raise _fail(f"cannot read answers {answers}: {exc}") from exc
    try:
        parsed: PlanAnswers = parse_answers(answer_doc)
    except PlanAnswersError as exc:
        raise _fail(f"invalid answers: {exc}") from exc
    try:
        result = triage(doc)
    except FindingsError as exc:
        # Invalid findings: show the error and no disposition (CONTRACTS.md).
        raise _fail(f"invalid findings: {exc}") from exc
    now = datetime.now(UTC)
    code = 0
    try:
        plan = build_plan(doc, result, parsed, now, enabled_instruments=enabled)
    except PlanAnswersError as exc:
        raise _fail(f"invalid answers: {exc}") from exc
    except Exception as exc:  # any bug: fall back to the emergency safety net, never to silence
        typer.echo(f"Error: could not build the plan ({exc}); writing the safety-net plan", err=True)
        plan, code = safety_net_plan(now, _audience_guess(doc)), 1
    try:
        _write(plan, chosen, out)
    except Exception as exc:
        typer.echo(f"Error: could not write the plan ({exc})", err=True)
        try:
            _write(safety_net_plan(now, _audience_guess(doc)), chosen, out)
        except Exception:
            typer.echo(SAFETY_NET, err=True)
        raise typer.Exit(1) from exc
    if str(out) != "-":
        typer.echo(
            f"Wrote {out} ({chosen}): {plan.disposition.value}" + (" (safety net)" if plan.safety_net else "")
        )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `plan` to the telespine command line."""
    app.command("plan")(plan_command)
