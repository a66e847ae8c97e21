"""Syncthing, the transport: its REST client and events, its config.xml, starting and keeping a
node running, this machine's node, peers, untrusted nodes, and clusters of real nodes for tests.
"""

from __future__ import annotations
