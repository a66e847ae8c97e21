"""``roam ls --json``'s rows written out inline (``summary_list._json_texts``) are the text of
``listing.summary_json``, the one ``json.dumps`` of ``SessionSummary.as_json`` gives."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from session_roam.engine.sessions.listing import LeaseFacts, summary_json
from session_roam.engine.sessions.pathmap import PathMap, PathMapping
from session_roam.engine.sessions.summary_list import _json_texts

_TEXT = st.one_of(st.none(), st.text(max_size=12))
_ROW = st.tuples(
    st.sampled_from(("s1", "s2")),  # session id
    st.text(max_size=8),  # project
    st.text(min_size=1, max_size=12),  # path
    st.integers(min_value=0, max_value=10**12),  # size
    st.integers(min_value=-(10**18), max_value=4 * 10**18),  # mtime_ns
    st.one_of(st.none(), st.sampled_from(("", "/home/a/x", "/Users/b/y")), st.text(max_size=8)),
    _TEXT,  # title
    _TEXT,  # first prompt
    _TEXT,  # last prompt
    _TEXT,  # last activity
    st.integers(min_value=0, max_value=10**6),  # turns
    _TEXT,  # unreadable
    st.integers(min_value=0, max_value=9),  # conflict copies
)
_FACTS = st.dictionaries(
    st.sampled_from(("s1", "s2")),
    st.builds(LeaseFacts, _TEXT, _TEXT, st.booleans()),
)
_MAPS = st.sampled_from((PathMap(), PathMap((PathMapping("/home/a", "/Users/a"),))))


_Row = tuple[
    str, str, str, int, int, str | None, str | None, str | None, str | None, str | None, int,
    str | None, int,
]  # fmt: skip


@given(rows=st.lists(_ROW, max_size=5), facts=_FACTS, pathmap=_MAPS)
def test_the_inline_json_is_summary_json(
    rows: list[_Row], facts: dict[str, LeaseFacts], pathmap: PathMap
) -> None:
    bad: list[tuple[str, str]] = []
    texts = list(_json_texts(iter(rows), pathmap, facts, bad))
    expected = []
    for row in rows:
        sid, project, path, size, mtime_ns, cwd, title, first, last, act, turns, why, copies = row
        found = facts.get(sid)
        holder, writer = (found.holder, found.last_writer) if found else (None, None)
        local = pathmap.to_local(cwd) if pathmap.mappings and cwd else cwd
        running = bool(found and found.running)
        text = summary_json(
            running, copies, cwd, first, act, last, writer, mtime_ns / 1e9, holder, local,
            path, project, sid, size, title, turns, why,
        )  # fmt: skip
        expected.append(text)
    assert texts == expected
    for text in texts:
        json.loads(text)
    assert bad == [(row[2], row[11]) for row in rows if row[11]]
