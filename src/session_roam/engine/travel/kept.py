"""A plan edited on two machines while they were apart keeps both texts, after the merge too.

Both machines then carried their plan into the session's folder, and Syncthing made a conflict
copy of it. ``roam cr`` merges conflict copies before claude starts (``engine.conflicts``): a
file that is not a transcript keeps Syncthing's winner under its name and every other content
next to it as ``<stem>.roam-kept-<sha8>.md``. ``fold_kept_plans`` (run by ``place``) joins each
such kept text into this machine's plan, once per content (remembered with the other bases), so
the plan Claude Code reads holds both. Nothing is deleted; the kept copy stays for people.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from session_roam.engine.travel.files import read_companion, sha256, write_companion
from session_roam.engine.travel.kinds import carried_dir

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["fold_kept_plans"]

_KEPT_RE: Final = re.compile(
    r"(?P<stem>[a-z0-9][a-z0-9-]{0,127}(?:-agent-[A-Za-z0-9_-]{1,64})?)\.roam-kept-[0-9a-f]{8}\.md"
)


def fold_kept_plans(
    session_file: Path,
    config: Path,
    base: dict[str, str],
    join: Callable[[bytes, bytes], bytes],
) -> list[str]:
    """Join every kept plan text not folded yet into this machine's plan; the plans changed."""
    root = session_file.parent.parent
    folder = carried_dir(session_file) / "plans"
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return []
    changed: list[str] = []
    for name in names:
        match = _KEPT_RE.fullmatch(name)
        kept = read_companion(folder / name, root) if match else None
        if match is None or kept is None or base.get(f"plans/{name}") == sha256(kept):
            continue
        target = config / "plans" / f"{match.group('stem')}.md"
        local = read_companion(target, config) if target.exists() else None
        joined = kept if local is None else join(local, kept)
        if joined != local and write_companion(target, config, joined):
            changed.append(f"plans/{target.name}")
            # The base stays the travelled plan's: this machine's joined text is an edit of it,
            # kept by the next place and carried out when claude exits.
            travelled = read_companion(folder / target.name, root)
            base[f"plans/{target.name}"] = sha256(travelled if travelled is not None else joined)
        base[f"plans/{name}"] = sha256(kept)
    return changed
