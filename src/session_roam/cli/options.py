"""Option types more than one command shares, so each is spelled (and documented) once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["JsonFlag", "NoLease", "SyncthingHome"]

SyncthingHome = Annotated[
    Path | None,
    typer.Option(
        "--syncthing-home",
        envvar="ROAM_SYNCTHING_HOME",
        help="Syncthing's config folder (default: the one Syncthing itself uses).",
    ),
]
NoLease = Annotated[
    bool,
    typer.Option(
        "--no-lease",
        help="Launch without the lease, even on a machine set up for sync. Another machine may "
        "then write the session too: a conflict copy, merged later.",
    ),
]
JsonFlag = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON document on stdout: the result, or an error envelope "
        "(docs/schemas/). Works before or after the command name.",
    ),
]
"""The one ``--json`` of every command that reports (and of the root): ``cli.context`` also
finds it anywhere in argv, so where it is written does not matter."""
