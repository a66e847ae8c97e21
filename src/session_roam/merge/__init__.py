"""Turn divergent copies of one Claude Code session back into one timeline.

Pure functions only: no files, no clock, no environment. Bytes in, frozen dataclasses out.
"""

from __future__ import annotations
