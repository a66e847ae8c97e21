"""Laws of merge + backup + undo over generated session folders (Hypothesis)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_roam.engine.conflicts.forks import needs_repair
from session_roam.engine.conflicts.merging import merge_session, undo_session
from session_roam.engine.core.store import find_session_files
from tests.engine.sessiontree import BASE, FROM_A, FROM_B, SID, Tree, row, u
from tests.merge.sessions import broken_tool_pairs, forked_sessions, split_pair_sessions

if TYPE_CHECKING:
    from session_roam.merge import Version

CONTENTS = st.sampled_from(
    [
        BASE,
        FROM_A,
        FROM_B,
        FROM_A + row(u(7), u(3), "more on A"),
        BASE + b'{"torn":',
        b"not json at all\n",
        b"",
    ]
)
STAMPS = st.from_regex(r"2026112[0-9]-1[0-9]{5}-[A-Z2-7]{7}", fullmatch=True)
FILES = st.fixed_dictionaries(
    {
        "main": st.one_of(st.none(), CONTENTS),
        "copies": st.lists(st.tuples(STAMPS, CONTENTS), max_size=3, unique_by=lambda c: c[0]),
        "sub": st.lists(st.tuples(STAMPS, CONTENTS), max_size=2, unique_by=lambda c: c[0]),
        "title": st.lists(
            st.tuples(STAMPS, st.sampled_from([b"{}", b'{"customTitle":"x"}'])),
            max_size=2,
            unique_by=lambda c: c[0],
        ),
    }
)
LAW = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _build(spec: dict[str, Any]) -> Tree:
    tree = Tree(Path(tempfile.mkdtemp(prefix="roam-law-")) / ".claude")
    if spec["main"] is not None:
        tree.write(f"{SID}.jsonl", spec["main"])
    for stamp, data in spec["copies"]:
        tree.write(f"{SID}.sync-conflict-{stamp}.jsonl", data)
    for stamp, data in spec["sub"]:
        tree.write(f"{SID}/subagents/agent-x.sync-conflict-{stamp}.jsonl", data)
    for stamp, data in spec["title"]:
        tree.write(f"{SID}/custom-title.sync-conflict-{stamp}.json", data)
    tree.project()
    return tree


def _uuids(data: bytes) -> set[str]:
    found = set()
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("uuid"), str):
            found.add(record["uuid"])
    return found


@pytest.fixture(autouse=True)
def _home(clean_environ: Path) -> Path:
    return clean_environ


@LAW
@given(FILES)
def test_merge_leaves_no_conflict_copy(spec: dict[str, Any]) -> None:
    tree = _build(spec)
    try:
        merge_session(find_session_files(tree.project(), SID))
        assert tree.conflict_files() == []
    finally:
        shutil.rmtree(tree.config.parent)


@LAW
@given(FILES)
def test_merge_loses_no_record_of_the_transcript(spec: dict[str, Any]) -> None:
    tree = _build(spec)
    try:
        inputs = [spec["main"] or b""] + [data for _, data in spec["copies"]]
        result = merge_session(find_session_files(tree.project(), SID))
        main = tree.project() / f"{SID}.jsonl"
        out = main.read_bytes() if main.exists() else b""
        aside = b"\n".join(
            s.raw for f in result.plan.files if f.outcome for s in f.outcome.set_aside
        )
        assert _uuids(out) | _uuids(aside) >= set().union(*(_uuids(d) for d in inputs))
    finally:
        shutil.rmtree(tree.config.parent)


@LAW
@given(FILES)
def test_dry_run_never_changes_the_folder(spec: dict[str, Any]) -> None:
    tree = _build(spec)
    try:
        before = tree.tree_hash()
        merge_session(find_session_files(tree.project(), SID), dry_run=True)
        assert tree.tree_hash() == before
    finally:
        shutil.rmtree(tree.config.parent)


@LAW
@given(FILES)
def test_undo_after_merge_restores_the_folder_byte_exact(spec: dict[str, Any]) -> None:
    tree = _build(spec)
    try:
        before = tree.snapshot()
        result = merge_session(find_session_files(tree.project(), SID))
        if result.status == "merged":
            undo_session(SID, tree.projects)
        assert tree.snapshot() == before
    finally:
        shutil.rmtree(tree.config.parent)


def _folder(main: bytes, copies: list[bytes]) -> Tree:
    tree = Tree(Path(tempfile.mkdtemp(prefix="roam-law-")) / ".claude")
    tree.write(f"{SID}.jsonl", main)
    for number, data in enumerate(copies):
        tree.write(f"{SID}.sync-conflict-20261206-14020{number}-BETA234.jsonl", data)
    tree.project()
    return tree


@LAW
@given(forked_sessions(), st.booleans())
def test_merge_repairs_a_take_over_fork_and_leaves_nothing_to_do_after(
    version: Version, with_copy: bool
) -> None:
    copy = version.data[: version.data.rfind(b"\n", 0, len(version.data) // 2) + 1]
    tree = _folder(version.data, [copy] if with_copy else [])
    try:
        merge_session(find_session_files(tree.project(), SID))
        files = find_session_files(tree.project(), SID)
        again = merge_session(files)
        assert (needs_repair(files), again.status) == (False, "nothing-to-do")
    finally:
        shutil.rmtree(tree.config.parent)


@LAW
@given(split_pair_sessions())
def test_merge_writes_every_tool_result_after_its_tool_use(versions: list[Version]) -> None:
    tree = _folder(versions[0].data, [v.data for v in versions[1:]])
    try:
        merge_session(find_session_files(tree.project(), SID))
        assert broken_tool_pairs((tree.project() / f"{SID}.jsonl").read_bytes()) == []
    finally:
        shutil.rmtree(tree.config.parent)
