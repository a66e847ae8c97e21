"""One writer per session across the cluster: the lease claims, the protocol, its driver and its
transport over Syncthing, the two-machine rule, the release stamp and the prompt guard.
"""

from __future__ import annotations
