"""The global options every command sees, parsed once by the root callback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

__all__ = ["Settings", "settings_of"]


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
