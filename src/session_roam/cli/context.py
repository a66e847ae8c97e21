"""The global options every command sees, parsed once by the root callback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # typer is the full app's; the fast path reads Settings without it
    import typer

__all__ = ["SYNC_TIMEOUT_S", "Settings", "json_requested", "settings_of"]

#: How long a launch (cr, cn, cfork, crf and the fast cr path) waits for the cluster by default.
SYNC_TIMEOUT_S: Final = 60.0


def json_requested(argv: Sequence[str]) -> bool:
    """Whether ``--json`` is on the command line in any position (before or after the command
    name), but not among claude's arguments after ``--``: then every outcome, a usage error
    and ``--version`` included, is one JSON document on stdout."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


@dataclass(frozen=True, slots=True)
class Settings:
    """Options given before the command name (``roam --json conflicts list``).

    ``claude_dir`` is Claude Code's config folder when given explicitly; ``None`` means "find it
    the way Claude Code does" ($CLAUDE_CONFIG_DIR, else ~/.claude).
    """

    json: bool = False
    verbose: bool = False
    claude_dir: Path | None = None

    def wants_json(self, flag: bool) -> bool:
        """A command's own ``--json`` and the global one mean the same thing."""
        return self.json or flag


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings the root callback stored, or defaults when a command is invoked alone."""
    found = ctx.find_object(Settings)
    return found if found is not None else Settings()
