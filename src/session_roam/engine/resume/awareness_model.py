"""What ``engine.awareness`` found out: each peer's state, and what that means for a choice.

Kept apart from the Syncthing side so that ``choose``, ``status`` and the CLI read one small
model, and ``scope_for`` says which announced files a choice depends on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "AWAITING_INDEX",
    "CONNECTING",
    "INDEXED",
    "PAUSED",
    "UNREACHABLE",
    "Awareness",
    "PeerView",
    "scope_for",
]

INDEXED: Final = "indexed"
AWAITING_INDEX: Final = "awaiting-index"
CONNECTING: Final = "connecting"
UNREACHABLE: Final = "unreachable"
PAUSED: Final = "paused"
_SETTLED: Final = frozenset({INDEXED, UNREACHABLE, PAUSED})
_FULL_ID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PREFIX_RE: Final = re.compile(r"[0-9a-f-]{4,36}")


@dataclass(frozen=True, slots=True)
class PeerView:
    """One peer sharing the folder: ``state`` is one of the module's state constants."""

    device_id: str
    name: str
    state: str
    detail: str = ""

    @property
    def label(self) -> str:
        return self.name or self.device_id[:7]

    @property
    def settled(self) -> bool:
        """Nothing more will be learnt from this peer by waiting (short of it coming back)."""
        return self.state in _SETTLED


@dataclass(frozen=True, slots=True)
class Awareness:
    """What this machine knows of the cluster's state of the folder, at one moment."""

    peers: tuple[PeerView, ...]
    #: Files in scope that the peers' index announces and a connected peer can provide.
    arriving: tuple[str, ...] = ()

    @property
    def settled(self) -> bool:
        return all(p.settled for p in self.peers)

    @property
    def isolated(self) -> bool:
        """Peers exist, none can be reached, and none is still being tried."""
        return bool(self.peers) and self.settled and not self.indexed

    @property
    def complete(self) -> bool:
        """Every reachable peer's index is here, at least one peer was reachable (or there are
        no peers), and what it announced in scope has arrived."""
        return self.settled and not self.isolated and not self.arriving

    @property
    def indexed(self) -> tuple[PeerView, ...]:
        return tuple(p for p in self.peers if p.state == INDEXED)

    def waiting_for(self) -> str:
        """What a wait is waiting for, for the spinner: "Waiting for vault's index…"."""
        index = [p.label for p in self.peers if p.state == AWAITING_INDEX]
        dialling = [p.label for p in self.peers if p.state == CONNECTING]
        if index:
            return f"Waiting for {_names(index, possessive=True)} index…"
        if dialling:
            return f"Waiting to reach {_names(dialling)}…"
        if self.arriving:
            count = len(self.arriving)
            return f"Waiting for {count} file{'s' if count != 1 else ''} the other machines have…"
        return "Checking what the other machines have…"

    def missing(self) -> str:
        """The peers not heard from and why, for a message: "alpha (connection refused)"."""
        parts = [
            f"{p.label} ({p.detail or p.state.replace('-', ' ')})"
            for p in self.peers
            if p.state != INDEXED
        ]
        return ", ".join(parts)

    def notice(self) -> str | None:
        """For a list shown before the cluster's state is known: why it may not be whole."""
        if self.complete:
            return None
        if self.isolated:
            return (
                f"No other machine can be reached ({self.missing()}): this is what this machine "
                "has, which may not be everything."
            )
        still = self.missing() or f"{len(self.arriving)} announced files not here yet"
        return (
            f"The other machines' index is still arriving ({still}): this may not be "
            "everything yet; run it again in a moment."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "isolated": self.isolated,
            "peers": [
                {"device_id": p.device_id, "name": p.name, "state": p.state, "detail": p.detail}
                for p in self.peers
            ],
            "arriving": list(self.arriving),
        }


def _names(labels: list[str], *, possessive: bool = False) -> str:
    shown = [f"{label}'s" if possessive else label for label in labels]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def scope_for(query: str | None, project_dir: Path) -> Callable[[str], bool]:
    """Which announced files matter for a choice: the project's for the newest session; for an
    id, that session's files; for a prefix or a title, every session file."""
    if query is None or not query.strip():
        prefix = f"{project_dir.name}/"
        return lambda name: name.startswith(prefix)
    wanted = query.strip().lower()
    if _FULL_ID_RE.fullmatch(wanted):
        return lambda name: name.endswith(f"/{wanted}.jsonl") or f"/{wanted}/" in name
    if _PREFIX_RE.fullmatch(wanted):
        return lambda name: Path(name).name.startswith(wanted) and name.endswith(".jsonl")
    return lambda name: name.endswith(".jsonl") and not name.startswith(".")
