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


def _metrics_dir(settings: Settings) -> None:
    """Several workers share their Prometheus numbers through files in a fresh folder."""
    import os
    import shutil
    import tempfile

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="telespine-metrics-")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def address(host: str, port: int) -> str:
    """The address the server binds, as a URL: exactly the host it listens on (IPv6 in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    url = f"http://{shown}:{port}/"
    if host in ("0.0.0.0", "::", "[::]"):  # noqa: S104 -- only described here, chosen by the operator
        return f"{url} (every address of this machine; here: http://127.0.0.1:{port}/)"
    return url


def _nodelay_listening_socket() -> None:
    """TCP_NODELAY on the socket uvicorn binds for several workers (issue 16).

    With one worker asyncio makes the listening socket and turns Nagle off on every connection;
    with several, uvicorn binds the socket itself (protocol number 0), asyncio then leaves Nagle
    on, and small responses waited for the client's delayed ACK (about 40 ms each: two workers
    served a fifth of one worker's pings). Linux gives accepted connections the listening
    socket's TCP_NODELAY, so it is set there, once, before the workers start.
    """
    import socket

    import uvicorn.config

    original = uvicorn.config.Config.bind_socket
    if getattr(original, "telespine_nodelay", False):
        return

    def bind_socket(self: uvicorn.config.Config) -> socket.socket:
        sock = original(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_socket.telespine_nodelay = True  # type: ignore[attr-defined]
    uvicorn.config.Config.bind_socket = bind_socket  # type: ignore[method-assign]


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
        from telespine.store.db import DatabaseUnavailable, check_database, safe_url, upgrade

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
            console.print("==> applying database migrations", highlight=False)
            upgrade(url)
            _purge_sessions(settings)
            if settings.load_demo_data:
                console.print("==> demo data (added on the first start only)", highlight=False)
                created = ensure_demo(url)
                print_logins(console, created)
            console.print(
                "==> starting the web app (the message screening warms up in the background;"
                " /readyz says when it is ready)",
                highlight=False,
            )
        except DatabaseUnavailable as exc:
            console.print(f"[bold red]Database error:[/] {exc}", soft_wrap=True, markup=True, highlight=False)
            raise typer.Exit(1) from None
        except Exception as exc:  # a failed migration or data folder: one line, not a traceback
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            console.print(
                f"[bold red]Start failed:[/] {type(exc).__name__}: {reason} ({safe_url(url)})",
                soft_wrap=True,
                highlight=False,
            )
            raise typer.Exit(1) from None
        bind_host = host or settings.host
        bind_port = port if port is not None else settings.port
        console.print(
            f"telespine ({settings.env}) on {url.split('://')[0]}: [bold]{address(bind_host, bind_port)}[/]",
            soft_wrap=True,
        )
        import os

        from telespine.web.logs import log_config

        if access_log:
            os.environ["TELESPINE_ACCESS_LOG"] = "true"  # telespine's own access log (no query strings)
            get_settings.cache_clear()  # the app (in this process with one worker) reads it again
        if workers > 1:
            _metrics_dir(settings)
            _nodelay_listening_socket()
        proxies = ",".join(settings.trusted_proxies)
        uvicorn.run(
            "telespine.web.asgi:app",
            host=bind_host,
            port=bind_port,
            workers=workers,
            access_log=False,  # uvicorn's access line writes the query string (health data)
            log_config=log_config(settings.json_logs),
            log_level="info",
            # X-Forwarded-For/-Proto only from TELESPINE_TRUSTED_PROXIES: trusting every local
            # peer (uvicorn's default 127.0.0.1) let a forged header dodge the per-address limits.
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or "",
            server_header=False,
        )
