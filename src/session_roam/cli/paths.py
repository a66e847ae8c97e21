"""`roam paths map|unmap|list`: sessions recorded under another machine's paths."""

from __future__ import annotations

from typing import Annotated

import typer

from session_roam.cli.context import settings_of
from session_roam.cli.options import JsonFlag
from session_roam.cli.output import console, emit_json
from session_roam.engine.core import xdg
from session_roam.engine.sessions import PathMap, load_pathmap, map_path, unmap_path

__all__ = ["paths_app", "register"]

paths_app = typer.Typer(
    name="paths",
    no_args_is_help=True,
    help=(
        "Treat sessions recorded under another machine's path as this machine's.\n\n"
        "A session started in /Users/nat/proj on a Mac is filed under a different project "
        "folder than /home/nat/proj here; `roam paths map /Users/nat /home/nat` makes ls, cs, "
        "cf and cfork see it as this directory's session (claude -r resumes it wherever its "
        "file lies)."
    ),
)


def _render(pathmap: PathMap, as_json: bool) -> None:
    if as_json:
        emit_json([{"from": m.source, "to": m.target} for m in pathmap.mappings])
        return
    out = console()
    if not pathmap.mappings:
        out.print("No path mappings. Add one with `roam paths map FROM TO`.", markup=False)
    for mapping in pathmap.mappings:
        out.print(f"{mapping.source} -> {mapping.target}", markup=False)


@paths_app.command("map")
def map_command(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(metavar="FROM", help="The path as another machine has it.")
    ],
    target: Annotated[str, typer.Argument(metavar="TO", help="The same place on this machine.")],
    json_output: JsonFlag = False,
) -> None:
    """Record that FROM on other machines is TO here (the longest matching FROM wins).

    roam paths map /Users/nat /home/nat
    """
    _render(map_path(xdg.config_dir(), source, target), settings_of(ctx).wants_json(json_output))


@paths_app.command("unmap")
def unmap_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FROM", help="The FROM of a mapping.")],
    json_output: JsonFlag = False,
) -> None:
    """Forget a mapping.

    roam paths unmap /Users/nat
    """
    _render(unmap_path(xdg.config_dir(), source), settings_of(ctx).wants_json(json_output))


@paths_app.command("list")
def list_command(
    ctx: typer.Context,
    json_output: JsonFlag = False,
) -> None:
    """Show the mappings of this machine.

    roam paths list
    """
    _render(load_pathmap(xdg.config_dir()), settings_of(ctx).wants_json(json_output))


def register(app: typer.Typer) -> None:
    app.add_typer(paths_app)
