"""session-roam: continue the same Claude Code conversation on another machine.

The package is three parts: ``merge`` (pure functions that turn divergent copies of a session
back into one timeline), ``engine`` (everything that touches files, Syncthing and processes)
and ``cli`` (a thin typer layer that parses, calls one engine/merge function and renders).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
