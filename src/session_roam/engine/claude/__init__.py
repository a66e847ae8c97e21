"""Claude Code itself: launching the real ``claude``, roam's hooks in its settings.json, what a
hook run does, the lease keeper for a plain ``claude``, and making its clean-up harmless.
"""

from __future__ import annotations
