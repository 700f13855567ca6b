"""The `telespine` command line: each command lives in telespine.commands.<name>."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="telespine",
    help="Telemedicine care for back pain: guides, triage, assessment, the web app and its database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines register(app). Kept as a list so that every adapter owns its own file.
COMMAND_MODULES = ["guide", "triage", "assess", "plan", "serve", "db", "demo", "worker"]


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"telespine.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"telespine.commands.{name}":
                continue  # not built yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
