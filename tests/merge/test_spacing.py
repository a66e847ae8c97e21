"""Any JSON spacing takes the same path as Claude Code's compact JSON: shared bytes unparsed."""

from __future__ import annotations

import json

from session_roam.merge import Version, merge_versions
from tests.merge.sessions import SessionWriter, uuids_of


def _spaced(data: bytes) -> bytes:
    """Each line re-encoded with ``json.dumps``' default spacing (``", "`` and ``": "``)."""
    return b"".join(
        json.dumps(json.loads(line), ensure_ascii=False).encode() + b"\n"
        for line in data.splitlines()
    )


def _spaced_pair() -> tuple[Version, Version]:
    base = SessionWriter(namespace=1)
    base.turn(1, "hello", [0])
    versions = []
    for namespace, second, prompt in ((10, 20, "on a"), (11, 10, "on b")):
        writer = SessionWriter(namespace=namespace, lines=list(base.lines), tail=base.tail)
        writer.turn(second, prompt, [1])
        versions.append(Version(prompt, _spaced(writer.data())))
    return versions[0], versions[1]


def test_spaced_json_shares_its_common_history_without_parsing_it() -> None:
    a, b = _spaced_pair()
    common = next(i for i, (x, y) in enumerate(zip(a.data, b.data, strict=False)) if x != y)
    outcome = merge_versions([a, b])
    assert outcome.report.shared_prefix_bytes == a.data.rfind(b"\n", 0, common) + 1
    assert outcome.report.shared_prefix_bytes > 0


def test_spaced_json_merges_to_every_record_of_both_versions() -> None:
    a, b = _spaced_pair()
    outcome = merge_versions([a, b])
    assert set(uuids_of(outcome.data)) == set(uuids_of(a.data)) | set(uuids_of(b.data))
