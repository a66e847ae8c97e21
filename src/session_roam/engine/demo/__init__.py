"""``roam demo``: the whole story on a throwaway cluster of real Syncthing nodes, and realistic
session rows for demos and benchmarks.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.demo.story import DemoEvent, DemoSummary, run_demo

__all__ = ["DemoEvent", "DemoSummary", "run_demo"]

__getattr__ = lazy_face(
    __name__,
    {
        "story": ("DemoEvent", "DemoSummary", "run_demo"),
    },
)
