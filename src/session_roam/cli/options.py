"""Option types more than one command shares, so each is spelled (and documented) once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["JsonFlag", "SyncthingHome"]

SyncthingHome = Annotated[
    Path | None,
    typer.Option(
        "--syncthing-home",
        envvar="ROAM_SYNCTHING_HOME",
        help="Syncthing's config folder (default: the one Syncthing itself uses).",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
