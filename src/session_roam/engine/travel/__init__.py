"""The whole session travels: its companions outside ``projects/`` (todos, plans, file history,
tasks) carried in its own folder around a run of claude, and export/import to one file.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.travel.bundle import ExportReport, export_session
    from session_roam.engine.travel.carry import carry_for_hook, companions_around, place_for_hook
    from session_roam.engine.travel.targets import export_target, import_target
    from session_roam.engine.travel.unbundle import ImportReport, import_session, read_bundle

__all__ = [
    "ExportReport",
    "ImportReport",
    "carry_for_hook",
    "companions_around",
    "export_session",
    "export_target",
    "import_session",
    "import_target",
    "place_for_hook",
    "read_bundle",
]

__getattr__ = lazy_face(
    __name__,
    {
        "bundle": ("ExportReport", "export_session"),
        "carry": ("carry_for_hook", "companions_around", "place_for_hook"),
        "targets": ("export_target", "import_target"),
        "unbundle": ("ImportReport", "import_session", "read_bundle"),
    },
)
