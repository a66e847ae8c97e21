"""`roam conflicts`: find Syncthing conflict copies of sessions and merge them back."""

from __future__ import annotations

import typer

__all__ = ["register"]

conflicts_app = typer.Typer(
    no_args_is_help=True,
    help="Find Syncthing conflict copies of sessions and merge them back into one timeline.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(conflicts_app, name="conflicts")
