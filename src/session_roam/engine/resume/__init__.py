"""``roam cr`` and its siblings: what the cluster has (awareness), which session to resume, and
the whole resume wired to Syncthing, the lease, the merge and claude.
"""

from __future__ import annotations
