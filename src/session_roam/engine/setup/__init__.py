"""``roam setup``: this machine's Syncthing carrying the projects folder, an always-on node, the
shell shortcuts and the ``roam watch`` login service.
"""

from __future__ import annotations
