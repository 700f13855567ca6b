"""The `telespine` command line: each command lives in telespine.commands.<name>.

A run imports only the module of the command it names (`telespine triage` never loads the web
app, SQLAlchemy or the settings); `telespine --help`, or a name that is not a command, loads
them all so that help lists every command. `app` (tests use it) has every command.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typer loads only when a command goes through it (not triage's fast path)
    import typer

HELP = "Telemedicine care for back pain: guides, triage, assessment, the web app and its database."

# Each module defines register(app). Kept as a list so that every adapter owns its own file.
COMMAND_MODULES = ["guide", "triage", "assess", "plan", "serve", "db", "demo", "worker", "fhir", "steps"]


def new_app() -> typer.Typer:
    """An empty `telespine` app; a callback keeps it a group even with a single command."""
    import typer

    root = typer.Typer(
        name="telespine",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @root.callback()
    def _group() -> None:
        pass

    _group.__doc__ = HELP
    return root


def _register(target: typer.Typer, names: list[str]) -> None:
    for name in names:
        try:
            module = importlib.import_module(f"telespine.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"telespine.commands.{name}":
                continue  # not built yet
            raise
        module.register(target)


def build_app(names: list[str] | None = None) -> typer.Typer:
    """The app with the named commands (every command when names is None)."""
    target = new_app()
    _register(target, COMMAND_MODULES if names is None else names)
    return target


def command_of(argv: list[str]) -> str | None:
    """The command a command line names, when it is one of ours and comes first; else None."""
    if argv and argv[0] in COMMAND_MODULES:
        return argv[0]
    return None  # --help, no arguments, a typo: every command is loaded so help lists them all


_full_app: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    """`telespine.cli.app`: built on first use, with every command."""
    global _full_app
    if name == "app":
        if _full_app is None:
            _full_app = build_app()
        return _full_app
    raise AttributeError(name)


def fast_triage(argv: list[str]) -> int | None:
    """The exit code of a plain `triage --findings X [--format json|text]` (argv after "triage"),
    run without typer; None for any other form (typer then parses it, with its help and errors).

    The imports run with the cyclic garbage collector off: they make some 30,000 long-lived
    objects (pydantic's and the rule models) and almost no cyclic garbage, and the collections
    walked them again and again (about 75 during the imports, and more at exit: some 25 ms of
    a 155 ms command). Then gc.freeze() moves them out of the collector's generations for good
    (they live as long as the process) and it is on again for the rule set and the documents.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from telespine.commands import triage

        gc.freeze()
    finally:
        if was_enabled:  # as the caller had it (a caller that turned it off keeps it off)
            gc.enable()
    plain = triage.fast_arguments(argv)
    if plain is None:
        return None
    return triage.run_fast(*plain)


def main() -> None:
    """The `telespine` program (the console script)."""
    name = command_of(sys.argv[1:])
    if name == "triage":
        # the common `triage --findings X --format json` without typer (issue 16: start-up time)
        code = fast_triage(sys.argv[2:])
        if code is not None:
            if code:
                sys.exit(code)
            return
    build_app(None if name is None else [name])()


if __name__ == "__main__":
    main()
