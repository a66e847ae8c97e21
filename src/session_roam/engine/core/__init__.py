"""The ground floor: atomic writes, temporary files, processes, Claude Code's paths, roam's own
folders, reading sessions from disk, and the backup store that keeps every byte roam replaces.
"""

from __future__ import annotations
