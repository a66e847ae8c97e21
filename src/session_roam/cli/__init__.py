"""The ``roam`` command line: parse, make one call into engine/merge, render."""

from __future__ import annotations
