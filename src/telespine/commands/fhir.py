"""`telespine fhir`: export saved assessments as FHIR R4 Bundles, write the SDC Questionnaires."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)
fhir_app = typer.Typer(help="FHIR R4: export Bundles and write SDC Questionnaires.", no_args_is_help=True)


@fhir_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Folder for the Bundles (one <assessment id>.json each)."),
    assessment: str | None = typer.Option(None, "--assessment", help="Only this assessment id."),
) -> None:
    """Write one FHIR R4 transaction Bundle per saved assessment (or the one given)."""
    from sqlalchemy.orm import Session

    from telespine.commands.db import _url
    from telespine.fhir.export import all_bundles, assessment_bundle
    from telespine.fhir.questionnaires import to_json
    from telespine.store import repo
    from telespine.store.db import make_engine, make_sessionmaker

    url = _url()
    engine = make_engine(url)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with make_sessionmaker(engine)() as db:
            db_: Session = db
            if assessment is not None:
                found = repo.get_assessment(db_, assessment[:64])
                if found is None:
                    console.print(f"No assessment {assessment!r}.")
                    raise typer.Exit(1)
                pairs = [(found.id, assessment_bundle(db_, found))]
            else:
                pairs = list(all_bundles(db_))
            for aid, bundle in pairs:
                (out / f"{aid}.json").write_text(to_json(bundle) + "\n", encoding="utf-8")
                written += 1
    finally:
        engine.dispose()
    console.print(f"Wrote {written} Bundle(s) to {out}.")


@fhir_app.command("questionnaire")
def questionnaire(
    out: Path = typer.Option(..., "--out", help="File to write."),
    audience: str | None = typer.Option(None, "--audience", help="adult or pediatric: the assessment."),
    instrument: str | None = typer.Option(None, "--instrument", help="An instrument id, e.g. phq2."),
) -> None:
    """Write the assessment (--audience) or an instrument (--instrument) as an SDC Questionnaire."""
    from telespine.fhir.questionnaires import (
        UnknownQuestionnaire,
        assessment_questionnaire,
        instrument_questionnaire,
        to_json,
    )

    if (audience is None) == (instrument is None):
        console.print("Give exactly one of --audience adult|pediatric or --instrument ID.")
        raise typer.Exit(2)
    try:
        q = (
            assessment_questionnaire(audience)
            if audience is not None
            else instrument_questionnaire(str(instrument))
        )
    except UnknownQuestionnaire as exc:
        console.print(f"No such questionnaire: {exc.args[0]!r}.")
        raise typer.Exit(2) from None
    out.write_text(to_json(q) + "\n", encoding="utf-8")
    console.print(f"Wrote {q.url} to {out}.")


def register(app: typer.Typer) -> None:
    app.add_typer(fhir_app, name="fhir")
