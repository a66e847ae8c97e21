"""Syncthing's conflict copies turned back into one timeline: plan, merge, undo, the forks a
take-over leaves, and ``roam watch`` merging them as they appear.
"""

from __future__ import annotations
