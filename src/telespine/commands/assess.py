"""`telespine assess`: the adaptive back-pain assessment in the terminal, for an adult or a parent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from telespine.commands.triage import EXIT_SAFETY_NET, emergency_number, render_result
from telespine.triage import questionnaire as qn
from telespine.triage import safety_net
from telespine.triage.emergency import builtin_line, builtin_safety_net
from telespine.triage.types import Audience, TriageResult

EXIT_ABORTED = 1
Ask = Callable[[str], str]
CONDITION = "back-pain"


def _show_question(
    console: Console, question: qn.Question, audience: Audience, step: tuple[int, int]
) -> None:
    done, total = step
    console.print(Text(f"\nQuestion {done + 1} of about {max(total, done + 1)}", style="dim"))
    console.print(Text(question.text_for(audience), style="bold"))
    help_text = question.help_for(audience)
    if help_text:
        console.print(Text(help_text, style="italic"))
    if question.kind == "number":
        unit = f" ({question.unit})" if question.unit else ""
        console.print(f"Type a number from {question.minimum:g} to {question.maximum:g}{unit}.")
    else:
        for index, option in enumerate(question.options, start=1):
            console.print(f"  {index}. {option.label_for(audience)}")


def _guide_sections(console: Console, result: TriageResult, audience: Audience) -> None:
    """Show the guide sections that go with the result; say so when the guides are not available."""
    try:
        from telespine.content import load_guide
        from telespine.triage.advice import load_advice

        guide = load_guide(CONDITION, audience, emergency_number=emergency_number())
        wanted = load_advice().for_(result.disposition).guide_sections
    except Exception as exc:  # content is optional here: the result above already says what to do
        console.print(Text(f"\n(The guide is not available right now: {type(exc).__name__}.)", style="dim"))
        return
    fired = {r.id for r in result.rules}
    console.print(Text("\nRead more in the guide", style="bold underline"))
    for section_id in wanted:
        try:
            section: Any = guide.section(section_id)
        except KeyError:
            continue
        console.print(Text(f"\n{section.title}", style="bold"))
        if section.kind == "red_flags":
            flags = [f for f in section.flags if fired & set(f.rules)] or list(section.flags)[:5]
            for flag in flags:
                console.print(f"  • {flag.text}")
        elif section.kind == "text":
            console.print(section.paragraphs[0])
        elif section.kind in {"list", "checklist"}:
            for item in section.items:
                console.print(f"  • {item}")
        console.print(
            Text(
                f"  (telespine guide {CONDITION} --audience {audience}, section '{section_id}')", style="dim"
            )
        )
    console.print(Text("\n" + guide.emergency_line, style="bold"))


def run_assessment(ask: Ask, console: Console, audience_hint: Audience | None = None) -> int:
    """Ask the questions one by one, then explain the result; returns the exit code."""
    answers: dict[str, object] = {}
    result: TriageResult | None = None
    try:
        while True:
            audience = qn.audience_for(answers) or audience_hint or "adult"
            question = qn.next_question(answers, audience)
            if question is None:
                break
            _show_question(console, question, audience, qn.progress(answers, audience))
            while True:
                raw = ask("> ")
                try:
                    answers[question.id] = qn.parse_answer(question, raw)
                    break
                except qn.AnswerError as exc:
                    console.print(Text(f"Sorry, I did not understand: {exc.problem}", style="yellow"))
        result = qn.result(answers)
        audience = qn.audience_for(answers) or "adult"
    except (EOFError, KeyboardInterrupt):
        stopped = "The assessment was stopped before the end, so we cannot give advice."
        console.print(Text("\n" + builtin_safety_net(qn.audience_for(answers), stopped), style="bold"))
        console.print(Text(builtin_line(qn.audience_for(answers), emergency_number()), style="bold"))
        return EXIT_ABORTED
    except Exception as exc:  # POLICY.md property 4: never leave the person without safety-netting
        age = answers.get("age_years")
        result = safety_net(
            f"assessment failed: {type(exc).__name__}: {exc}",
            None,
            age if isinstance(age, int | float) else None,
        )
        audience = result.audience or audience_hint or "adult"
    if not result.safety_net and result.disposition == "emergency":
        console.print(
            Text(
                "\nWe stopped asking questions because one answer already needs emergency care.",
                style="bold red",
            )
        )
    texts = None
    if result.unresolved:
        texts = {q.id: q.text_for(audience) for q in qn.load_questionnaire().questions}
    console.print()
    render_result(console, result, audience, texts)
    if not result.safety_net:
        _guide_sections(console, result, audience)
    return EXIT_SAFETY_NET if result.safety_net else 0


def assess_command(
    for_whom: Annotated[
        str | None, typer.Option("--for", help="self (adult) or child (a parent or carer answers).")
    ] = None,
) -> None:
    """Answer a few questions about back pain and get safe advice on where to get care."""
    console = Console()
    hint: Audience | None = None
    if for_whom is not None:
        if for_whom not in {"self", "child"}:
            typer.echo("Error: --for must be self or child", err=True)
            raise typer.Exit(2)
        hint = "pediatric" if for_whom == "child" else "adult"
    console.print(Text("Back pain check", style="bold"))
    console.print(
        "Answer each question with the number of your choice, or type the answer. "
        "Choose 'Not sure' if you do not know. If you feel very unwell now, call your "
        "emergency number instead."
    )
    code = run_assessment(console.input, console, hint)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `telespine assess` to the command line."""
    app.command("assess")(assess_command)
