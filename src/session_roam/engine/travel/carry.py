"""Companions in and out of the session's sibling folder, around a run of claude.

``place`` (before claude starts, under the lease) copies what travelled into the places Claude
Code reads; ``carry`` (after claude exits, before the release) copies this machine's files back
into the sibling folder, from where Syncthing takes them with the session. Both are atomic and
0600, and neither ever deletes a file.

To tell "this machine's copy is merely old" from "it was edited here too", roam remembers the
sha256 of each companion as it last placed or carried it (``$XDG_STATE_HOME/session-roam/
companions/<config>/<session-id>.json``, never synced). A local file still equal to that base is
replaced by the travelled one; one edited here while the travelled one was not is kept; when both
changed, the kind's rule decides: a plan keeps both texts, tasks and todos keep the newer file,
a file-history snapshot (content-addressed, written once) keeps the first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from session_roam.engine.claude.hookrun import CR_SESSION_ENV
from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.travel.files import (
    CompanionKey,
    carried_files,
    kind_of,
    local_files,
    local_path,
    read_companion,
    sha256,
    write_companion,
)
from session_roam.engine.travel.history import carry_history, history_enabled, place_history
from session_roam.engine.travel.kept import fold_kept_plans
from session_roam.engine.travel.kinds import carried_dir
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

__all__ = [
    "Carried",
    "carry",
    "carry_for_hook",
    "companions_around",
    "join_plans",
    "place",
    "place_for_hook",
]

log = logging.getLogger(__name__)

_STATE_DIR: Final = "companions"
#: Put between the two texts of a plan edited on two machines.
PLAN_JOIN: Final = (
    "\n\n<!-- roam: this plan was also edited on another machine; its text follows -->\n\n"
)


@dataclass(slots=True)
class Carried:
    """What one ``place`` or ``carry`` did, by companion label (``kind/name``)."""

    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _state_file(config: Path, session_id: str) -> Path:
    """Per config folder too: one machine may run Claude Code with several."""
    folder = sha256(str(config).encode())[:16]
    return xdg.state_dir() / _STATE_DIR / folder / f"{session_id}.json"


def _load_base(config: Path, session_id: str) -> dict[str, str]:
    try:
        data = json.loads(_state_file(config, session_id).read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def _save_base(config: Path, session_id: str, base: dict[str, str], loaded: dict[str, str]) -> None:
    """Write ``base`` unless it is what ``_load_base`` gave (``loaded``): a resume whose
    companions did not change writes (and fsyncs) nothing here."""
    if base == loaded:
        return
    path = _state_file(config, session_id)
    make_private_dirs(path.parent)
    atomic_write(path, json.dumps(base, sort_keys=True).encode(), mode=0o600)


def join_plans(local: bytes, travelled: bytes) -> bytes:
    """Both texts of a plan edited on two machines: this machine's first, then the other's."""
    if travelled in local:
        return local
    if local in travelled:
        return travelled
    return local.rstrip(b"\n") + PLAN_JOIN.encode() + travelled


def _mtime_ns(path: Path) -> int:
    try:
        return path.lstat().st_mtime_ns
    except OSError:
        return 0


def _resolve(
    key: CompanionKey, local: bytes, local_file: Path, travelled: bytes, carried_file: Path
) -> bytes | None:
    """The bytes this machine should hold when both sides changed; None keeps the local ones."""
    rule = kind_of(key).merge
    if rule == "keep-both":
        return join_plans(local, travelled)
    if rule == "newer" and _mtime_ns(carried_file) > _mtime_ns(local_file):
        return travelled
    return None


def place(session_file: Path, config: Path, session_id: str) -> Carried:
    """Copy the session's travelled companions to where Claude Code reads them."""
    done = Carried()
    root = session_file.parent.parent  # the projects folder: everything below came by sync
    base = _load_base(config, session_id)
    loaded = dict(base)
    for key, carried_file in sorted(carried_files(carried_dir(session_file), root).items()):
        travelled = read_companion(carried_file, root)
        if travelled is None:
            done.refused.append(key.label)
            continue
        target = local_path(config, session_id, key)
        local = read_companion(target, config) if target.exists() else None
        new_sha = sha256(travelled)
        if local is not None and sha256(local) == new_sha:
            base[key.label] = new_sha  # the same here already: nothing to write
            continue
        if local is None or sha256(local) == base.get(key.label):
            wanted: bytes | None = travelled
        elif new_sha == base.get(key.label):
            wanted = None  # the same, or edited here since: this machine's copy goes out next
        else:
            wanted = _resolve(key, local, target, travelled, carried_file)
        if wanted is None:
            # The travelled version stays the base: this machine's copy is an edit of it, kept
            # again by the next place (even if claude dies before carry) and carried at exit.
            done.kept.append(key.label)
            base[key.label] = new_sha
            continue
        if not write_companion(target, config, wanted, _mtime_ns(carried_file)):
            done.refused.append(key.label)
            continue
        (done.joined if wanted not in (travelled, local) else done.copied).append(key.label)
        base[key.label] = sha256(wanted)
    done.joined.extend(fold_kept_plans(session_file, config, base, join_plans))
    _save_base(config, session_id, base, loaded)
    return done


def carry(session_file: Path, config: Path, session_id: str) -> Carried:
    """Copy this machine's companions of the session into its sibling folder (never deletes)."""
    done = Carried()
    root = session_file.parent.parent
    carried = carried_dir(session_file)
    present = carried_files(carried, root)
    base = _load_base(config, session_id)
    loaded = dict(base)
    for key, local_file in sorted(local_files(config, session_id, session_file).items()):
        data = read_companion(local_file, config)
        if data is None:
            done.refused.append(key.label)
            continue
        base[key.label] = sha256(data)
        there = present.get(key)
        if there is not None and read_companion(there, root) == data:
            continue
        target = carried / key.kind / key.name
        if write_companion(target, root, data, _mtime_ns(local_file)):
            done.copied.append(key.label)
        else:
            done.refused.append(key.label)
    _save_base(config, session_id, base, loaded)
    return done


@contextlib.contextmanager
def companions_around(
    session_file: Path, config: Path, session_id: str, warn: Callable[[str], None]
) -> Iterator[None]:
    """``place`` before the block (claude's run), ``carry`` after it, whatever happens.

    A failure here never stops a resume: it is said, and the session itself is untouched.
    """
    try:
        history = history_enabled()
    except InvalidInput as exc:
        warn(f"{exc.message} The prompt history is not carried.")
        history = False
    try:
        placed = place(session_file, config, session_id)
        for label in placed.joined:
            warn(f"{label} was edited here and on another machine; both texts are kept.")
        if history:
            place_history(session_file, config)
    except OSError as exc:
        warn(f"Could not place the session's companions (todos, plans, file history): {exc}.")
    try:
        yield
    finally:
        try:
            carry(session_file, config, session_id)
            if history:
                carry_history(session_file, config, session_id)
        except OSError as exc:
            warn(f"Could not carry the session's companions to its folder: {exc}.")


def _config_of(transcript: Path) -> Path | None:
    """``<config>`` of ``<config>/projects/<slug>/<id>.jsonl``; None for any other path."""
    projects = transcript.parent.parent
    return projects.parent if projects.name == "projects" else None


def place_for_hook(transcript: Path, session_id: str, warn: Callable[[str], None]) -> None:
    """``place`` for a plain ``claude`` with roam's hooks (SessionStart, after the lease).

    Nothing when ``roam cr`` launched this claude: it placed them already.
    """
    config = _config_of(transcript)
    if config is None or os.environ.get(CR_SESSION_ENV, "").lower() == session_id:
        return
    try:
        for label in place(transcript, config, session_id).joined:
            warn(f"{label} was edited here and on another machine; both texts are kept.")
    except OSError as exc:
        warn(f"Could not place the session's companions (todos, plans, file history): {exc}.")


def carry_for_hook(transcript: Path, session_id: str, warn: Callable[[str], None]) -> None:
    """``carry`` for a plain ``claude`` with roam's hooks (when claude is gone, before release)."""
    config = _config_of(transcript)
    if config is None:
        return
    try:
        carry(transcript, config, session_id)
    except OSError as exc:
        warn(f"Could not carry the session's companions to its folder: {exc}.")
