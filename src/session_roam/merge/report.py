"""What a merge did, in a form the CLI can print as a line or a JSON document.

The report never carries record contents (they can hold anything the user typed): only labels,
counts, uuids and the paths where two variants of a record differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MergeReport", "VariantConflict"]


@dataclass(frozen=True, slots=True)
class VariantConflict:
    """Two or more versions hold different records under one uuid; one was kept."""

    uuid: str
    kept_label: str
    lost_labels: tuple[str, ...]
    diff: str  # short deepdiff summary: what differs, by path

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "kept_label": self.kept_label,
            "lost_labels": list(self.lost_labels),
            "diff": self.diff,
        }


@dataclass(frozen=True, slots=True)
class MergeReport:
    """The facts of one merge; ``kept_as_is`` names the version returned byte for byte, if any.

    ``records_per_version`` counts rows with a uuid. For the history every version shares byte
    for byte the count is taken without parsing (occurrences of a top-level-looking ``"uuid"``
    key), since the merge does not parse what every version agrees on.
    """

    labels: tuple[str, ...]
    records_per_version: tuple[tuple[str, int], ...]
    records_out: int
    turns_moved: int
    reparented: tuple[tuple[str, str], ...]  # (child uuid, new parent uuid)
    conflicts: tuple[VariantConflict, ...]
    unparseable_lines: int
    pure_prefix: bool
    kept_as_is: str | None
    superseded: tuple[str, ...]  # versions wholly contained in (a byte prefix of) another
    shared_prefix_bytes: int
    exact_duplicates: int  # repeated copies of one row inside one version, written once
    last_prompt_added: bool
    leaf: str | None
    tool_pairs_closed: int = 0  # results moved after their tool_use, made up, or re-attached
    forks_split: int = 0  # branches of a take-over fork inside one file, merged as versions

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable document (only str, int, bool, None, lists and dicts)."""
        return {
            "labels": list(self.labels),
            "records_per_version": dict(self.records_per_version),
            "records_out": self.records_out,
            "turns_moved": self.turns_moved,
            "reparented": dict(self.reparented),
            "conflicts": [conflict.to_dict() for conflict in self.conflicts],
            "unparseable_lines": self.unparseable_lines,
            "pure_prefix": self.pure_prefix,
            "kept_as_is": self.kept_as_is,
            "superseded": list(self.superseded),
            "shared_prefix_bytes": self.shared_prefix_bytes,
            "exact_duplicates": self.exact_duplicates,
            "last_prompt_added": self.last_prompt_added,
            "leaf": self.leaf,
            "tool_pairs_closed": self.tool_pairs_closed,
            "forks_split": self.forks_split,
        }

    def summary(self) -> str:
        """One line for a human, e.g. in ``roam conflicts merge`` output."""
        if self.kept_as_is is not None and len(self.labels) == 1:
            return f"{self.kept_as_is}: single version, left as it is"
        if self.kept_as_is is not None and not self.superseded:
            return f"kept {self.kept_as_is} as it is: the other versions add nothing to it"
        if self.pure_prefix:
            return (
                f"kept {self.kept_as_is} as it is: "
                f"{', '.join(self.superseded)} only held an older part of it"
            )
        parts = [
            f"merged {len(self.labels)} versions into {self.records_out} records",
            f"{self.turns_moved} turn(s) moved",
        ]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflicting record(s) kept aside")
        if self.unparseable_lines:
            parts.append(f"{self.unparseable_lines} unparseable line(s) kept aside")
        if self.forks_split:
            parts.append(f"{self.forks_split} take-over branch(es) joined")
        if self.tool_pairs_closed:
            parts.append(f"{self.tool_pairs_closed} tool result(s) put back after their call")
        return ", ".join(parts)
