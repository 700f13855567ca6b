"""`telespine triage`: triage findings documents (one JSON object or JSON lines) from a file or stdin."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from telespine.triage.emergency import DEFAULT_EMERGENCY_NUMBER, EMERGENCY_NUMBER_ENV
from telespine.triage.engine import evaluate, safety_net, safety_net_message
from telespine.triage.findings import FindingsError, loads_findings, validate_findings
from telespine.triage.rules import RuleSet, load_ruleset
from telespine.triage.types import Audience, Disposition, TriageResult

if TYPE_CHECKING:  # rich is imported only for text output (JSON output starts faster without it)
    import typer  # only for the typer command (register binds it); run_fast never loads it
    from rich.console import Console

EXIT_INVALID = 2
EXIT_SAFETY_NET = 3

STYLE = {
    Disposition.EMERGENCY: "bold white on red",
    Disposition.URGENT: "bold red",
    Disposition.PROMPT: "bold yellow",
    Disposition.ROUTINE: "bold cyan",
    Disposition.TELEMEDICINE: "bold green",
}


class OutputFormat(StrEnum):
    """Output formats of `telespine triage`."""

    json = "json"
    text = "text"


NO_ID: Any = object()  # the input had no "id" key (an explicit null id is echoed back as null)


@dataclass
class Item:
    """One input document: where it came from, its id (NO_ID when none was given) and the raw findings."""

    where: str
    id: Any
    doc: object


def emergency_number() -> str:
    """The emergency number to show: TELESPINE_EMERGENCY_NUMBER, default 911."""
    return os.environ.get(EMERGENCY_NUMBER_ENV, "").strip() or DEFAULT_EMERGENCY_NUMBER


class InputError(Exception):
    """Input that is not a findings document; the message names the line and field."""


def _syntax_only(exc: FindingsError) -> bool:
    """True when the JSON itself is malformed (so the text may be JSON lines instead)."""
    return exc.problem.startswith("not valid JSON")


def parse_input(text: str) -> list[Item]:
    """One JSON object, or JSON lines of findings or of {"id": ..., "findings": {...}}.

    Parsing is strict (telespine.triage.loads_findings): a duplicate key, deep nesting or a
    non-finite number is an input error, never silently resolved; a UTF-8 BOM is accepted.
    """
    text = text.removeprefix("\ufeff")
    stripped = text.strip()
    if not stripped:
        raise InputError("input: empty; expected a JSON object or JSON lines")
    whole: object = None
    try:
        whole = loads_findings(stripped)
    except FindingsError as exc:
        if not _syntax_only(exc):  # valid JSON with a duplicate key, too deep, NaN...: say so
            raise InputError(f"input: {exc.field}: {exc.problem}") from None
    if isinstance(whole, dict):
        return [_item("input", whole)]
    items: list[Item] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            value = loads_findings(line)
        except FindingsError as exc:
            raise InputError(f"{where}: {exc.field}: {exc.problem}") from None
        items.append(_item(where, value))
    return items


def _item(where: str, value: object) -> Item:
    if isinstance(value, dict) and "findings" in value:
        extra = sorted(set(value) - {"id", "findings"})
        if extra:
            raise InputError(f"{where}: {extra[0]}: unknown key (a wrapper holds only id and findings)")
        return Item(where, value.get("id", NO_ID), value["findings"])
    return Item(where, NO_ID, value)


def result_json(result: TriageResult, item_id: Any = NO_ID) -> dict[str, Any]:
    """The JSON object printed for one result (with its input id, even null, when one was given)."""
    out: dict[str, Any] = {} if item_id is NO_ID else {"id": item_id}
    out.update(result.model_dump(mode="json"))
    return out


def render_result(
    console: Console,
    result: TriageResult,
    audience: Audience | None = None,
    questions: dict[str, str] | None = None,
    number: str | None = None,
) -> None:
    """Explain a result in plain language: what to do, by when, and why."""
    from rich.panel import Panel
    from rich.text import Text

    aud: Audience = audience or result.audience or "adult"
    number = number or emergency_number()
    try:
        from telespine.triage.advice import load_advice

        advice = load_advice()
        item = advice.for_(result.disposition)
        headline = item.headline.for_(aud, number)
        what, by_when = item.what.for_(aud, number), item.by_when.for_(aud, number)
        footer = advice.safety_net_footer.for_(aud, number)
    except Exception:  # advice text broken: still show the rule reasons, never nothing
        headline, what, by_when = result.disposition.value, "", ""
        footer = safety_net_message(aud, number)
    body = Text()
    if result.safety_net:
        body.append(safety_net_message(result.audience or audience, number) + "\n\n", style="bold")
    else:
        if what:
            body.append("What to do: ", style="bold")
            body.append(what + "\n")
        if by_when:
            body.append("By when: ", style="bold")
            body.append(by_when + "\n")
        if result.rules:
            body.append("\nWhy:\n", style="bold")
            for rule in result.rules:
                body.append(f"  • {rule.title}. ", style="bold")
                body.append(rule.reason + "\n")
        else:
            body.append("\nWhy: none of the warning signs we asked about are present.\n")
        if result.unresolved:
            body.append("\nYou were not sure about:\n", style="bold")
            for name in result.unresolved:
                body.append(f"  • {(questions or {}).get(name, name.replace('_', ' '))}\n")
            body.append("A clinician may call you to go over these.\n")
        body.append("\n" + footer + "\n", style="italic")
    body.append(f"\nRule set {result.ruleset.version} ({result.ruleset.sha256[:12]})", style="dim")
    console.print(Panel(body, title=Text(headline, style=STYLE[result.disposition]), expand=False))


def _question_texts(audience: Audience) -> dict[str, str]:
    try:
        from telespine.triage.questionnaire import load_questionnaire

        return {q.id: q.text_for(audience) for q in load_questionnaire().questions}
    except Exception:  # wording only: fall back to finding names
        return {}


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None


def run_triage(text: str, fmt: OutputFormat, console: Console | None = None) -> int:
    """Triage every document of text, print the results, return the exit code.

    console is for text output; None makes one when it is first needed.
    """
    try:
        return _run_triage(text, fmt, console)
    except Exception as exc:  # an unexpected crash anywhere: safety net, never silence (POLICY.md 4)
        _error(f"Error: triage failed: {type(exc).__name__}: {exc}")
        result = safety_net(f"{type(exc).__name__}: {exc}")
        if fmt is OutputFormat.json:
            sys.stdout.write(json.dumps(result_json(result)) + "\n")
        else:
            render_result(console or _console(), result)
        return EXIT_SAFETY_NET


def _console() -> Console:
    from rich.console import Console

    return Console()


def _run_triage(text: str, fmt: OutputFormat, console: Console | None) -> int:
    try:
        items = parse_input(text)
        valid: list[tuple[Item, dict[str, Any]]] = []
        problems: list[str] = []
        for item in items:
            try:
                valid.append((item, validate_findings(item.doc)))
            except FindingsError as exc:
                problems.append(f"{item.where}: {exc.field}: {exc.problem}")
        if problems:
            raise InputError("\n".join(problems))
    except InputError as exc:
        _error(f"Error: {exc}\nNo triage result was given.")
        return EXIT_INVALID
    ruleset: RuleSet | None = None
    try:
        ruleset = load_ruleset()
    except Exception as exc:  # corrupt rules: everyone gets the emergency safety net
        _error(f"Error: the triage rules could not be loaded: {exc}")
    code = 0
    out = sys.stdout
    for item, findings in valid:
        if ruleset is None:
            result = safety_net("rule set could not be loaded", None, findings.get("age_years"))
        else:
            try:
                result = evaluate(findings, ruleset)
            except Exception as exc:  # POLICY.md property 4: fail safe
                result = safety_net(f"{type(exc).__name__}: {exc}", ruleset, findings.get("age_years"))
        if result.safety_net:
            code = EXIT_SAFETY_NET
        if fmt is OutputFormat.json:
            out.write(json.dumps(result_json(result, item.id)) + "\n")
        else:
            from rich.text import Text

            console = console or _console()
            if item.id is not NO_ID:
                console.print(Text(str(item.id), style="bold"))
            aud = result.audience or "adult"
            render_result(console, result, aud, _question_texts(aud) if result.unresolved else None)
    out.flush()
    return code


def triage_command(
    findings: Annotated[
        str, typer.Option("--findings", "-f", help="Findings: a JSON object or JSON lines; - for stdin.")
    ],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="json (one object per line) or text.")] = (
        OutputFormat.text
    ),
) -> None:
    """Triage back-pain findings: what to do, by when, and why."""
    try:
        text = _read(findings)
    except InputError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    code = run_triage(text, fmt)
    if code:
        raise typer.Exit(code)


def _error(message: str) -> None:
    """A message on stderr (as typer.echo(err=True), without importing typer)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def fast_arguments(argv: list[str]) -> tuple[str, OutputFormat] | None:
    """(findings, format) of a plain `triage --findings X [--format json|text]` command line
    (also `-f X`, `--findings=X`, `--format=X`), else None (typer then parses it, with its help
    and error messages)."""
    values: dict[str, str] = {}
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if name in ("--findings", "-f") and not (eq and name == "-f"):
            key = "findings"
        elif name == "--format":
            key = "format"
        else:
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if key in values or (value.startswith("-") and value != "-"):
            return None
        values[key] = value
    if "findings" not in values or values.get("format", "text") not in ("json", "text"):
        return None
    return values["findings"], OutputFormat(values.get("format", "text"))


def run_fast(findings: str, fmt: OutputFormat) -> int:
    """`telespine triage` without typer (cli.main's fast path): the exit code of triage_command."""
    try:
        text = _read(findings)
    except InputError as exc:
        _error(f"Error: {exc}")
        return EXIT_INVALID
    return run_triage(text, fmt)


def register(app: typer.Typer) -> None:
    """Add `telespine triage` to the command line."""
    global typer  # the command's annotations and body name typer: bound here, not at import
    import typer

    app.command("triage")(triage_command)
