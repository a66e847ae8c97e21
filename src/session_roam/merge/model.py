"""The values that go into and come out of ``merge_versions``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from session_roam.merge.report import MergeReport

__all__ = ["MergeOutcome", "SetAside", "Version"]


@dataclass(frozen=True, slots=True)
class Version:
    """One copy of a session file: the live file, a conflict copy, the journal, a --with path."""

    label: str  # where it came from; used in reports only, never to decide anything
    data: bytes  # the file's exact bytes


@dataclass(frozen=True, slots=True)
class SetAside:
    """A line the merge did not carry into the merged file; the caller stores it elsewhere."""

    label: str  # the version it came from
    line_number: int  # 1-based in that version
    raw: bytes  # exact bytes of the line, without its newline
    reason: str  # "unparseable", "not-utf8", "not-an-object", "blank", "duplicate-uuid-variant"


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """The merged file's bytes, what was left out of it, and what happened."""

    data: bytes
    set_aside: tuple[SetAside, ...]
    report: MergeReport

    @property
    def changed(self) -> bool:
        """False when ``data`` is byte for byte the version named by ``report.kept_as_is``."""
        return self.report.kept_as_is is None
