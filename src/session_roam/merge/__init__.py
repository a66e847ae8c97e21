"""Turn divergent copies of one Claude Code session back into one timeline.

Pure functions only: no files, no clock, no environment. Bytes in, frozen dataclasses out.
``merge_versions`` is the whole job (the algorithm is described in ``timeline.py``);
``resume_chain`` tells which chain Claude Code 2.1.331 would resume from a file's bytes.
"""

from __future__ import annotations

from session_roam.merge.model import MergeOutcome, SetAside, Version
from session_roam.merge.records import Line, parse_line, reparent, serialise_line, split_lines
from session_roam.merge.report import MergeReport, VariantConflict
from session_roam.merge.resume import resume_chain
from session_roam.merge.timeline import merge_versions

__all__ = [
    "Line",
    "MergeOutcome",
    "MergeReport",
    "SetAside",
    "VariantConflict",
    "Version",
    "merge_versions",
    "parse_line",
    "reparent",
    "resume_chain",
    "serialise_line",
    "split_lines",
]
