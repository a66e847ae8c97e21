"""The synced-data check: what arrived in the folder that roam refuses to use, and why.

Whatever arrives through sync is data (``engine.safefs``, ``engine.peer_schema``): a symlink
is never followed, merged, indexed or listed as a session, and a tombstone or node file that
fails its schema is ignored. Ignoring them silently would hide a broken or hostile peer, so
this check names each one for a person to look at. Nothing is removed: the link or file may be
the only trace of what happened, and deleting on one machine is not roam's to decide.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from session_roam.bounds import MAX_RECORD_BYTES, MAX_RECORD_DEPTH
from session_roam.engine.core.safefs import find_links, is_project_name, shown_name
from session_roam.engine.deletions.tombstones import TOMBSTONES_DIR, invalid_tombstones
from session_roam.engine.syncthing.nodeinfo import NODES_DIR, read_nodes
from session_roam.engine.verify.base import listed, ok
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from session_roam.engine.verify.model import Snapshot

__all__ = ["DIMENSION", "check_synced_data", "gather_synced_data"]

DIMENSION: Final = "synced-data"


def gather_synced_data(
    projects: Path, walked: Sequence[str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(symlinks, ignored state files with the reason), folder-relative; both sorted.

    ``walked`` are the links a walk of the folder already found (``roam verify``'s one walk,
    ``sessions_check``); without it the folder is walked here."""
    if not projects.is_dir():
        return (), ()
    found = find_links(projects) if walked is None else [Path(p) for p in walked]
    links = tuple(sorted(p.relative_to(projects).as_posix() for p in found))
    ignored = [
        f"{(TOMBSTONES_DIR / name).as_posix()} ({why})"
        for name, why in invalid_tombstones(projects).items()
    ]
    ignored += [
        f"{(NODES_DIR / f'{device}.json').as_posix()} ({node.error})"
        for device, node in read_nodes(projects).items()
        if node.info is None and not node.arriving
    ]
    return links, tuple(sorted(ignored))


def odd_project_names(projects: Path) -> tuple[str, ...]:
    """The folders of ``projects`` that every walk skips because their names are not UTF-8
    (``is_project_name``), as people can read them; sorted."""
    try:
        with os.scandir(projects) as entries:
            names = [
                e.name
                for e in entries
                if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
            ]
    except OSError:
        return ()
    return tuple(sorted(shown_name(n) for n in names if not is_project_name(n)))


def check_synced_data(snap: Snapshot) -> list[Finding]:
    found: list[Finding] = []
    if snap.links:
        found.append(
            Finding(
                DIMENSION,
                Status.WARN,
                f"{len(snap.links)} symbolic link(s) in the synced folder are not followed, "
                f"merged or listed: {listed(list(snap.links))}.",
                fix=f"ls -l {Path(snap.projects_dir) / snap.links[0]}  # then replace it with the "
                "real file or remove it",
            )
        )
    if snap.ignored_state:
        found.append(
            Finding(
                DIMENSION,
                Status.WARN,
                f"{len(snap.ignored_state)} roam state file(s) from peers are ignored: "
                f"{listed(list(snap.ignored_state))}.",
                fix="Run `roam verify` on the machine that wrote them; a newer roam rewrites them.",
            )
        )
    if snap.odd_names:
        found.append(
            Finding(
                DIMENSION,
                Status.WARN,
                f"{len(snap.odd_names)} folder(s) in {snap.projects_dir} have names that are not "
                f"UTF-8, so roam skips them and Syncthing does not sync them (Claude Code never "
                f"names a folder so): {listed(list(snap.odd_names))}.",
                fix="Rename each to a UTF-8 name, or move it out of the projects folder if it is "
                "not Claude Code's.",
            )
        )
    if snap.unreadable_records:
        found.append(
            Finding(
                DIMENSION,
                Status.WARN,
                f"{len(snap.unreadable_records)} session file(s) hold records longer than "
                f"{MAX_RECORD_BYTES // (1024 * 1024)} MiB or nested deeper than "
                f"{MAX_RECORD_DEPTH}, which roam does not read (a merge keeps them byte for "
                f"byte): {listed(list(snap.unreadable_records))}.",
                fix="Look at the session on the machine that wrote it; roam never changes them.",
            )
        )
    if snap.unreadable_files:  # neither roam nor Syncthing (same user) can read or send them
        found.append(
            Finding(
                DIMENSION,
                Status.FAIL,
                f"{len(snap.unreadable_files)} session file(s) cannot be read here: "
                f"{listed(list(snap.unreadable_files))}.",
                fix="Give your user read access to them (chmod u+r FILE, or chown to yourself).",
            )
        )
    coverage = f" ({snap.sessions_coverage})" if snap.sessions_coverage else ""
    if found:
        if coverage:
            found.append(Finding(DIMENSION, Status.OK, f"Session files read: {coverage[2:-1]}."))
        return found
    return ok(
        DIMENSION,
        f"No symbolic link, unusable state file or unreadable record in the folder{coverage}.",
    )
