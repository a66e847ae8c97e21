"""Everything in session-roam that touches the outside world: files, Syncthing, processes."""

from __future__ import annotations
