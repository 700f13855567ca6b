"""`telespine steps FILE`: read a wearable's export and print its daily step counts.

For checking an export before it is uploaded, and for support: Apple Health export.xml or
export.zip, Google Fit daily metrics CSV, Fitbit steps JSON or FHIR Observations. Nothing is
stored. A file that cannot be read exits 2 with the same plain message the upload would show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from telespine.care.wearables import WearableError, parse_upload


def register(app: typer.Typer) -> None:
    @app.command("steps")
    def steps(
        path: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The export file")
        ],
        timezone: Annotated[
            str | None, typer.Option(help="IANA time zone for the local day, e.g. Europe/London")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
    ) -> None:
        """Print the daily step counts found in a wearable's export (nothing is stored)."""
        try:
            with path.open("rb") as stream:
                result = parse_upload(stream, timezone)
        except WearableError as exc:
            typer.echo(f"Error ({exc.kind}): {exc}", err=True)
            raise typer.Exit(2) from None
        except ValueError as exc:  # an unknown time zone
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        if as_json:
            doc = {
                "source": result.source,
                "records": result.records,
                "ignored": result.ignored,
                "days": [{"day": d.day.isoformat(), "steps": d.steps} for d in result.days],
            }
            typer.echo(json.dumps(doc, indent=2))
            return
        typer.echo(
            f"{result.source}: {len(result.days)} days, {result.records} records ({result.ignored} ignored)"
        )
        for d in result.days:
            typer.echo(f"{d.day.isoformat()}  {d.steps:>7,}")
