"""``roam cr`` and its siblings: what the cluster has (awareness), which session to resume, and
the whole resume wired to Syncthing, the lease, the merge and claude.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.resume.awareness import cluster_state
    from session_roam.engine.resume.coordinate import ChildExit, CrOptions
    from session_roam.engine.resume.coordinator import acquire_lease
    from session_roam.engine.resume.newsession import run_cr, run_fork, run_new
    from session_roam.engine.resume.safe import ResumeOutcome, ResumeUI
    from session_roam.engine.resume.signals import Terminated

__all__ = [
    "ChildExit",
    "CrOptions",
    "ResumeOutcome",
    "ResumeUI",
    "Terminated",
    "acquire_lease",
    "cluster_state",
    "run_cr",
    "run_fork",
    "run_new",
]

__getattr__ = lazy_face(
    __name__,
    {
        "awareness": ("cluster_state",),
        "coordinate": ("ChildExit", "CrOptions"),
        "coordinator": ("acquire_lease",),
        "newsession": ("run_cr", "run_fork", "run_new"),
        "safe": ("ResumeOutcome", "ResumeUI"),
        "signals": ("Terminated",),
    },
)
