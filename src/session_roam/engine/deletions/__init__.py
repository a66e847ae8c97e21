"""No deletion takes a session away from another machine: give files back (reassert), the
tombstones of ``roam rm``, the local archive, restore and heal, and safe repair of the folder.
"""

from __future__ import annotations
