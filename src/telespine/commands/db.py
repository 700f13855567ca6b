"""`telespine db`: schema migrations (Alembic) for the configured database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

console = Console()
db_app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


def _url() -> str:
    """The configured database URL, checked: a bad setting or database ends with one line, not a traceback."""
    from pydantic import ValidationError

    from telespine.settings import get_settings
    from telespine.store.db import DatabaseUnavailable, check_database

    try:
        settings = get_settings()
    except ValidationError as exc:
        console.print(f"[bold red]Settings error:[/] {exc.errors()[0]['msg']}", soft_wrap=True)
        raise typer.Exit(2) from None
    url = settings.sqlalchemy_url
    try:
        if url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        check_database(url)
    except (DatabaseUnavailable, OSError) as exc:
        console.print(f"[bold red]Database error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from None
    return url


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    from telespine.store.db import safe_url

    return safe_url(url)


@db_app.command()
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to a revision (default: the newest)."""
    from telespine.store import db

    url = _url()
    db.upgrade(url, revision)
    console.print(f"{_safe(url)} is at revision {db.current_revision(url)}")


@db_app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")]) -> None:
    """Undo migrations down to a revision."""
    from telespine.store import db

    url = _url()
    db.downgrade(url, revision)
    console.print(f"{_safe(url)} is at revision {db.current_revision(url)}")


@db_app.command()
def current() -> None:
    """Show the revision the database is at."""
    from telespine.store import db

    url = _url()
    console.print(f"{_safe(url)}: {db.current_revision(url) or 'empty (no revision)'}")


@db_app.command("rotate-data-key")
def rotate_data_key() -> None:
    """Re-encrypt the stored two-step sign-in secrets with the first key of TELESPINE_DATA_KEY.

    Put the new key first and keep the old ones after it (comma-separated) until this has run.
    """
    from telespine.settings import get_settings
    from telespine.store import repo_accounts
    from telespine.store.datakeys import cipher_for
    from telespine.store.db import make_engine, make_sessionmaker

    url = _url()
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            done, bad = repo_accounts.rotate_totp_secrets(db, cipher_for(get_settings()))
            db.commit()
    finally:
        engine.dispose()
    console.print(f"{done} two-step sign-in secrets encrypted with the first data key")
    if bad:
        console.print(f"[bold red]{bad} cannot be decrypted with any configured key[/] (left as they were)")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
