"""``roam demo``: the whole story on a throwaway cluster of real Syncthing nodes, and realistic
session rows for demos and benchmarks.
"""

from __future__ import annotations
