"""Sessions as the user sees them: listing, picking, full-text search, path mappings between
machines, and this node's journal of every line it wrote.
"""

from __future__ import annotations
