"""No deletion takes a session away from another machine: give files back (reassert), the
tombstones of ``roam rm``, the local archive, restore and heal, and safe repair of the folder.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_roam.engine.face import lazy_face

if TYPE_CHECKING:
    from session_roam.engine.deletions.journal_restore import restore_journal
    from session_roam.engine.deletions.restore import heal, remove_here, restore_here

__all__ = ["heal", "remove_here", "restore_here", "restore_journal"]

__getattr__ = lazy_face(
    __name__,
    {
        "journal_restore": ("restore_journal",),
        "restore": ("heal", "remove_here", "restore_here"),
    },
)
