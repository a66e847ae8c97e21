"""Sessions as the user sees them: listing, picking, full-text search, path mappings between
machines, and this node's journal of every line it wrote.

The face (``__all__``) is what the CLI imports; see docs/architecture.md and engine/face.py.
"""

from __future__ import annotations

from session_roam.engine.face import lazy_face

TYPE_CHECKING = False  # not from typing: the warm `roam cf` loads this face

if TYPE_CHECKING:
    from session_roam.engine.sessions.journal import Journal, JournalStatus
    from session_roam.engine.sessions.listing import (
        SessionSummary,
        conversation_preview,
        foreign_cwds,
        lease_facts,
        suggest_for_cwd,
        suggest_mapping,
        with_lease_facts,
    )
    from session_roam.engine.sessions.ls_query import LsQuery, parse_when
    from session_roam.engine.sessions.pathmap import (
        PathMap,
        load_pathmap,
        local_project_dirs,
        map_path,
        unmap_path,
    )
    from session_roam.engine.sessions.search import Match, refresh_search_index, search_sessions
    from session_roam.engine.sessions.search_query import warm_search
    from session_roam.engine.sessions.search_scope import warm_scope
    from session_roam.engine.sessions.summary_list import (
        list_summaries,
        stream_json_texts,
        stream_summaries,
    )

__all__ = [
    "Journal",
    "JournalStatus",
    "LsQuery",
    "Match",
    "PathMap",
    "SessionSummary",
    "conversation_preview",
    "foreign_cwds",
    "lease_facts",
    "list_summaries",
    "load_pathmap",
    "local_project_dirs",
    "map_path",
    "parse_when",
    "refresh_search_index",
    "search_sessions",
    "stream_json_texts",
    "stream_summaries",
    "suggest_for_cwd",
    "suggest_mapping",
    "unmap_path",
    "warm_scope",
    "warm_search",
    "with_lease_facts",
]

__getattr__ = lazy_face(
    __name__,
    {
        "journal": ("Journal", "JournalStatus"),
        "listing": (
            "SessionSummary",
            "conversation_preview",
            "foreign_cwds",
            "lease_facts",
            "suggest_for_cwd",
            "suggest_mapping",
            "with_lease_facts",
        ),
        "ls_query": ("LsQuery", "parse_when"),
        "pathmap": ("PathMap", "load_pathmap", "local_project_dirs", "map_path", "unmap_path"),
        "search": ("Match", "refresh_search_index", "search_sessions"),
        "search_query": ("warm_search",),
        "search_scope": ("warm_scope",),
        "summary_list": ("list_summaries", "stream_json_texts", "stream_summaries"),
    },
)
