"""``roam verify`` and ``roam status``: gather one snapshot of the facts, check it, and say what
is wrong and what would be better.
"""

from __future__ import annotations
