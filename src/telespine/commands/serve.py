"""`telespine serve`: migrate the database, add demo data on first start, run the web app."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from telespine.settings import Settings

console = Console()


def _purge_sessions(settings: Settings) -> None:
    """Drop timed-out sessions at start: anonymous ones may hold draft answers."""
    from telespine.store.db import make_engine, make_sessionmaker
    from telespine.web.sessions import purge_expired

    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_sessionmaker(engine)() as db:
            purge_expired(db, settings)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on (TELESPINE_HOST).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (TELESPINE_PORT).")] = None,
        workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
        access_log: Annotated[bool, typer.Option(help="Log each request line (paths only).")] = False,
    ) -> None:
        """Start the web app (FastAPI under uvicorn) on SQLite in ./data, or on DATABASE_URL."""
        import uvicorn
        from pydantic import ValidationError

        from telespine.commands.demo import ensure_demo, print_logins
        from telespine.settings import get_settings
        from telespine.store.db import upgrade

        try:
            settings = get_settings()
        except ValidationError as exc:
            console.print(f"[bold red]Settings error:[/] {exc.errors()[0]['msg']}")
            raise typer.Exit(2) from None
        url = settings.sqlalchemy_url
        if url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        _purge_sessions(settings)
        if settings.load_demo_data:
            created = ensure_demo(url)
            print_logins(console, created)
        bind_host = host or settings.host
        bind_port = port if port is not None else settings.port
        shown = "localhost" if bind_host in ("127.0.0.1", "0.0.0.0") else bind_host  # noqa: S104
        console.print(
            f"telespine ({settings.env}) on {url.split('://')[0]}: [bold]http://{shown}:{bind_port}/[/]"
        )
        uvicorn.run(
            "telespine.web.asgi:app",
            host=bind_host,
            port=bind_port,
            workers=workers,
            access_log=access_log,
            log_level="info",
        )
