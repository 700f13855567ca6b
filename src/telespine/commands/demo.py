"""`telespine demo`: add the demo clinics and users to the database and print their logins."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def ensure_demo(url: str) -> bool:
    """Add demo data unless present; True when it was added now."""
    from telespine.services.demo import seed_demo
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.store.demo import has_demo_data
    from telespine.web.clinical import run_triage

    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            if has_demo_data(db):
                return False
            seed_demo(db, triage=run_triage)
            return True
    finally:
        engine.dispose()


def print_logins(out: Console, created: bool) -> None:
    from telespine.store.demo import CHILD_NAME, DEMO_USERS

    table = Table(title="Demo logins" + (" (just created)" if created else ""), show_lines=False)
    for col in ("user name", "password", "role"):
        table.add_column(col)
    for d in DEMO_USERS:
        clinic = f", clinic {d.clinic}" if d.clinic else ""
        child = f", child profile {CHILD_NAME}" if d.role == "parent" else ""
        table.add_row(d.username, d.password, d.role + clinic + child)
    out.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo() -> None:
        """Add demo data (two clinics, patients, a parent with a child, clinicians, an admin)."""
        from telespine.commands.db import _url
        from telespine.store.db import upgrade

        url = _url()  # one-line errors for bad settings or an unusable database
        upgrade(url)
        print_logins(console, ensure_demo(url))
