"""The merge on real transcripts: every record shape the corpus has, and the two-machine pair."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from session_roam.merge import MergeOutcome, Version, merge_versions, resume_chain, split_lines
from tests.merge.conftest import ALL_FILES, MAIN_SESSIONS
from tests.merge.sessions import diverge, rows_of, uuids_of

Corpus = Callable[[str], bytes]
A = "machine-a-422da93e.jsonl"
B = "machine-b-422da93e.jsonl"


def _merge_machines(corpus: Corpus) -> MergeOutcome:
    return merge_versions([Version("a", corpus(A)), Version("b", corpus(B))])


def _by_uuid(data: bytes) -> dict[str, dict[str, Any]]:
    return {str(row["uuid"]): row for row in rows_of(data)}


def _tool_pairs_broken(data: bytes) -> list[str]:
    """tool_result rows whose parent row does not hold the matching tool_use."""
    rows = _by_uuid(data)
    broken = []
    for uuid, row in rows.items():
        content = row.get("message", {}).get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                parent = rows.get(str(row.get("parentUuid")), {})
                held = parent.get("message", {}).get("content", [])
                ids = [b.get("id") for b in held if isinstance(b, dict)] if held else []
                if block.get("tool_use_id") not in ids:
                    broken.append(uuid)
    return broken


@pytest.mark.parametrize("name", ALL_FILES)
def test_corpus_file_alone_is_left_as_is(corpus: Corpus, name: str) -> None:
    outcome = merge_versions([Version(name, corpus(name))])
    assert (outcome.changed, outcome.data) == (False, corpus(name))


@pytest.mark.parametrize("name", ALL_FILES)
def test_corpus_stale_copy_yields_the_newer_file_byte_for_byte(corpus: Corpus, name: str) -> None:
    data = corpus(name)
    stale = data[: data.rfind(b"\n", 0, len(data) // 2) + 1]
    outcome = merge_versions([Version("new", data), Version("stale", stale)])
    assert (outcome.changed, outcome.report.pure_prefix, outcome.data) == (False, True, data)


@pytest.mark.parametrize("name", ALL_FILES)
def test_corpus_copy_torn_mid_line_yields_the_newer_file(corpus: Corpus, name: str) -> None:
    data = corpus(name)
    outcome = merge_versions([Version("torn", data[: len(data) // 3]), Version("new", data)])
    assert outcome.data == data


@pytest.mark.parametrize("name", MAIN_SESSIONS)
def test_corpus_diverged_copy_keeps_every_record_of_both(corpus: Corpus, name: str) -> None:
    other, _ = diverge(corpus(name))
    outcome = merge_versions([Version("orig", corpus(name)), Version("other", other)])
    expected = set(uuids_of(corpus(name))) | set(uuids_of(other))
    assert sorted(uuids_of(outcome.data)) == sorted(expected)


@pytest.mark.parametrize("name", MAIN_SESSIONS)
def test_corpus_diverged_copy_turn_joins_the_resumed_timeline(corpus: Corpus, name: str) -> None:
    other, new = diverge(corpus(name))
    merged = merge_versions([Version("orig", corpus(name)), Version("other", other)]).data
    timeline = resume_chain(merged, through_compaction=True)
    assert [uuid for uuid in new if uuid not in timeline] == []


@pytest.mark.parametrize("name", MAIN_SESSIONS)
def test_corpus_diverged_merge_moves_only_prompt_rows(corpus: Corpus, name: str) -> None:
    original = corpus(name)
    other, _ = diverge(original)
    outcome = merge_versions([Version("orig", original), Version("other", other)])
    before = {**_by_uuid(other), **_by_uuid(original)}
    after = _by_uuid(outcome.data)
    changed = {
        u for u, row in after.items() if row.get("parentUuid") != before[u].get("parentUuid")
    }
    assert changed == {child for child, _ in outcome.report.reparented}


@pytest.mark.parametrize("name", MAIN_SESSIONS)
def test_corpus_diverged_merge_keeps_tool_results_on_their_tool_use(
    corpus: Corpus, name: str
) -> None:
    original = corpus(name)
    other, _ = diverge(original)
    merged = merge_versions([Version("orig", original), Version("other", other)]).data
    assert _tool_pairs_broken(merged) == _tool_pairs_broken(original)


def test_inline_sidechains_keep_their_own_roots(corpus: Corpus) -> None:
    original = corpus("viewer-fe5e1c67-1.0.98.jsonl")
    other, _ = diverge(original)
    merged = merge_versions([Version("orig", original), Version("other", other)]).data
    roots = {u for u, r in _by_uuid(merged).items() if r.get("isSidechain") and not r["parentUuid"]}
    expected = {
        u for u, r in _by_uuid(original).items() if r.get("isSidechain") and not r["parentUuid"]
    }
    assert roots == expected


def test_summary_rows_are_carried(corpus: Corpus) -> None:
    original = corpus("viewer-fe5e1c67-1.0.98.jsonl")
    other, _ = diverge(original)
    merged = merge_versions([Version("orig", original), Version("other", other)]).data
    summaries = [raw for raw in split_lines(merged) if b'"type":"summary"' in raw[:40]]
    assert summaries == [raw for raw in split_lines(original) if b'"type":"summary"' in raw[:40]]


def test_files_without_last_prompt_get_none(corpus: Corpus) -> None:
    original = corpus("viewer-5c0375b4-1.0.108.jsonl")
    other, _ = diverge(original)
    merged = merge_versions([Version("orig", original), Version("other", other)]).data
    assert b'"last-prompt"' not in merged


def test_fork_and_origin_keep_each_uuid_once(corpus: Corpus) -> None:
    outcome = merge_versions(
        [Version("a", corpus(A)), Version("fork", corpus("fork-5418129e.jsonl"))]
    )
    uuids = uuids_of(outcome.data)
    assert len(uuids) == len(set(uuids))


def test_fork_and_origin_set_aside_the_losing_variants(corpus: Corpus) -> None:
    outcome = merge_versions(
        [Version("a", corpus(A)), Version("fork", corpus("fork-5418129e.jsonl"))]
    )
    lost = {json.loads(item.raw)["uuid"] for item in outcome.set_aside}
    assert lost == {conflict.uuid for conflict in outcome.report.conflicts}


def test_machines_merge_keeps_every_uuid_of_both(corpus: Corpus) -> None:
    expected = set(uuids_of(corpus(A))) | set(uuids_of(corpus(B)))
    assert sorted(uuids_of(_merge_machines(corpus).data)) == sorted(expected)


def test_machines_merge_is_one_chain_with_both_machines_prompts_in_order(
    corpus: Corpus,
) -> None:
    merged = _merge_machines(corpus).data
    rows = _by_uuid(merged)
    prompts = [
        str(rows[u]["message"]["content"])
        for u in resume_chain(merged, through_compaction=True)
        if rows[u]["type"] == "user" and str(rows[u]["message"]["content"]).startswith("On ")
    ]
    assert prompts == [
        "On A: run two things. USE_TOOLS2: echo from-a",
        "On B: continuing the same session elsewhere.",
        "On B: USE_TOOL: echo from-b",
        "On A: after compaction.",
    ]


def test_machines_merge_ends_with_last_prompt_at_the_leaf(corpus: Corpus) -> None:
    merged = _merge_machines(corpus).data
    checkpoints = [json.loads(r) for r in split_lines(merged) if b'"type":"last-prompt"' in r]
    assert checkpoints[-1]["leafUuid"] == resume_chain(merged)[-1]


def test_machines_merge_pairs_every_tool_use_with_its_result(corpus: Corpus) -> None:
    assert _tool_pairs_broken(_merge_machines(corpus).data) == []


def test_machines_merge_keeps_the_compact_boundary_byte_for_byte(corpus: Corpus) -> None:
    boundary = next(r for r in split_lines(corpus(A)) if b'"compact_boundary"' in r)
    assert boundary in split_lines(_merge_machines(corpus).data)


def test_machines_merge_keeps_the_rows_compaction_preserved(corpus: Corpus) -> None:
    merged = _merge_machines(corpus).data
    boundary = next(r for r in rows_of(merged) if r.get("subtype") == "compact_boundary")
    preserved = boundary["compactMetadata"]["preservedMessages"]["allUuids"]
    assert set(preserved) <= set(uuids_of(merged))


def test_machines_merge_reparents_one_turn_of_each_machine(corpus: Corpus) -> None:
    report = _merge_machines(corpus).report
    assert dict(report.reparented) == {
        # B's first turn goes after A's compaction (the last row of the /compact turn) ...
        "baf62da7-8448-4ce2-976e-2a01bcf0b31c": "6c0c341e-2274-4171-bb1d-3c5179d24b88",
        # ... and A's next turn after B's last row.
        "56e2819c-6de4-49aa-91cc-018013bde2b8": "1d211ccc-650c-4925-8ec4-d91925bfc313",
    }


def test_machines_merge_resumes_the_other_machines_turns_after_the_compaction(
    corpus: Corpus,
) -> None:
    """A's compaction never saw B's turns: placed before it, the model would never see them.

    Checked with the real 2.1.331 client: it sends the summary, the rows the boundary
    preserved, then every turn after the boundary, so B's turns must come after it.
    """
    merged = _merge_machines(corpus).data
    rows = _by_uuid(merged)
    prompts = [
        rows[u]["message"]["content"]
        for u in resume_chain(merged)
        if str(rows[u].get("message", {}).get("content", "")).startswith("On ")
    ]
    assert prompts == [
        "On B: continuing the same session elsewhere.",
        "On B: USE_TOOL: echo from-b",
        "On A: after compaction.",
    ]


def test_machines_merge_does_not_depend_on_input_order(corpus: Corpus) -> None:
    reverse = merge_versions([Version("b", corpus(B)), Version("a", corpus(A))])
    assert reverse.data == _merge_machines(corpus).data
