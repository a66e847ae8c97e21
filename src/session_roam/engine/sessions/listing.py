"""What ``roam ls`` and ``roam cs`` show about each session, read from the session files.

Everything comes from the records, not from the folder name: the slug is lossy, so the cwd is
the one the rows recorded, the title the last ``custom-title`` row (Claude Code's ``-n`` and
``/rename``), the activity the newest row timestamp. "This directory's sessions" are those in
the cwd's project folder plus those recorded under a path that ``roam paths map`` says is this
one (a session started as ``/Users/nat/proj`` on a Mac is ``/home/nat/proj``'s here).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, replace
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.bounded import Skipped, iter_file_lines, load_record
from session_roam.engine.core.paths import project_slug
from session_roam.engine.sessions.search_index import record_text
from session_roam.engine.sessions.summary_read import Fold, read_into, unreadable_why

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from session_roam.engine.core.store import SessionFiles
    from session_roam.engine.sessions.pathmap import PathMap

__all__ = [
    "LeaseFacts",
    "PathSuggestion",
    "SessionSummary",
    "conversation_preview",
    "foreign_cwds",
    "lease_facts",
    "suggest_for_cwd",
    "suggest_mapping",
    "summarize",
    "summary_json",
    "with_lease_facts",
]

log = logging.getLogger(__name__)

_HOME_ROOTS: Final = ("/Users/", "/home/")


def _q(text: str | None) -> str:
    return "null" if text is None else encode_basestring_ascii(text)


def summary_json(
    claude_running: bool, conflict_copies: int, cwd: str | None, first_prompt: str | None,
    last_activity: str | None, last_prompt: str | None, last_writer: str | None, mtime: float,
    lease_holder: str | None, local_cwd: str | None, path: str, project: str, session_id: str,
    size: int, title: str | None, turns: int, unreadable: str | None,
) -> str:  # fmt: skip
    """One session of ``roam ls --json`` as compact JSON, keys sorted, written by hand: the
    document ``json.dumps(SessionSummary.as_json(), sort_keys=True)`` gives, in a fraction of
    the time (what ``ls --all --json`` at 50,000 sessions needs)."""
    written = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime))
    return (
        f'{{"claude_running":{"true" if claude_running else "false"},'
        f'"conflict_copies":{int(conflict_copies)},"cwd":{_q(cwd)},'
        f'"first_prompt":{_q(first_prompt)},"last_activity":{_q(last_activity)},'
        f'"last_prompt":{_q(last_prompt)},"last_writer":{_q(last_writer)},'
        f'"last_written":"{written}","lease_holder":{_q(lease_holder)},'
        f'"local_cwd":{_q(local_cwd)},"path":{_q(path)},'
        f'"project":{_q(project)},"session_id":{_q(session_id)},'
        f'"size":{int(size)},"title":{_q(title)},"turns":{int(turns)},'
        f'"unreadable":{_q(unreadable)}}}'
    )


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One session as a person scanning a list needs to see it.

    ``last_writer`` is the machine whose lease release stamped the file last and
    ``lease_holder`` the machine holding a live lease, both from the lease claims that Syncthing
    carries (``with_lease_facts``); None when unknown (no Syncthing here): the rows themselves do
    not say which machine wrote them. ``unreadable`` is why the file could not be opened
    (its other fields then say nothing about it): "0 turns" would look like an empty session.
    """

    session_id: str
    path: Path
    project: str
    cwd: str | None
    local_cwd: str | None
    title: str | None
    first_prompt: str | None
    last_prompt: str | None
    last_activity: str | None
    mtime: float
    turns: int
    size: int
    conflict_copies: int
    last_writer: str | None = None
    lease_holder: str | None = None
    unreadable: str | None = None
    claude_running: bool = False

    @property
    def last_written(self) -> str:
        """When the file last changed here (UTC, seconds): when its last writer wrote it."""
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.mtime))

    def json_text(self) -> str:
        """``as_json`` as compact JSON, keys sorted (``summary_json``)."""
        return summary_json(
            self.claude_running, self.conflict_copies, self.cwd, self.first_prompt,
            self.last_activity, self.last_prompt, self.last_writer, self.mtime,
            self.lease_holder, self.local_cwd, str(self.path), self.project, self.session_id,
            self.size, self.title, self.turns, self.unreadable,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "path": str(self.path),
            "project": self.project,
            "cwd": self.cwd,
            "local_cwd": self.local_cwd,
            "title": self.title,
            "first_prompt": self.first_prompt,
            "last_prompt": self.last_prompt,
            "last_activity": self.last_activity,
            "turns": self.turns,
            "size": self.size,
            "conflict_copies": self.conflict_copies,
            "last_writer": self.last_writer,
            "lease_holder": self.lease_holder,
            "unreadable": self.unreadable,
            "claude_running": self.claude_running,
            "last_written": self.last_written,
        }


def _lines(path: Path, skipped: Skipped | None = None) -> Iterator[bytes]:
    """The lines of ``path``, bounded and never through a link (``engine.bounded``)."""
    try:
        yield from iter_file_lines(path, skipped)
    except OSError:
        return


def summarize(
    files: SessionFiles, pathmap: PathMap | None = None, skipped: Skipped | None = None
) -> SessionSummary | None:
    """The summary of one session, or None when its main file is missing (only copies left).

    ``skipped`` counts the records left unread for being over ``session_roam.bounds``' caps
    (``roam verify`` reports them).
    """
    if not files.main_exists:
        return None
    path = files.main
    try:
        info = path.stat()
    except OSError:
        return None
    unreadable = unreadable_why(str(path))
    fold = Fold()
    if not unreadable:
        with contextlib.suppress(OSError):
            _end, _tail, fold = read_into(path, fold)
    if skipped is not None:
        skipped.too_long += fold.skipped.too_long
        skipped.too_deep += fold.skipped.too_deep
    cwd, title, first, last = fold.cwd, fold.title, fold.first, fold.last
    latest, turns = fold.latest, fold.turns
    local = pathmap.to_local(cwd) if (pathmap is not None and cwd) else cwd
    return SessionSummary(
        session_id=files.session_id,
        path=path,
        project=files.project_dir.name,
        cwd=cwd,
        local_cwd=local,
        title=title,
        first_prompt=first,
        last_prompt=last,
        last_activity=latest,
        mtime=info.st_mtime,
        turns=turns,
        size=info.st_size,
        conflict_copies=len(files.conflict_copies),
        unreadable=unreadable,
    )


def foreign_cwds(summaries: tuple[SessionSummary, ...], pathmap: PathMap) -> tuple[str, ...]:
    """Recorded cwds that do not exist here and no mapping covers: sessions from elsewhere."""
    missing = {
        s.cwd
        for s in summaries
        if s.cwd and not pathmap.is_mapped(s.cwd) and not os.path.isdir(s.cwd)
    }
    return tuple(sorted(missing))


@dataclass(frozen=True, slots=True)
class PathSuggestion:
    source: str
    target: str

    @property
    def command(self) -> str:
        return f"roam paths map {self.source} {self.target}"


def suggest_mapping(cwds: tuple[str, ...], home: Path) -> PathSuggestion | None:
    """``/Users/nat/...`` recorded on another machine and missing here: map that home to ours."""
    here = str(home)
    for cwd in cwds:
        for root in _HOME_ROOTS:
            if cwd.startswith(root):
                user = cwd[len(root) :].split("/", 1)[0]
                source = root + user
                if user and source != here:
                    return PathSuggestion(source, here)
    return None


def conversation_preview(path: Path, *, max_rows: int = 40, width: int = 600) -> str:
    """The end of the conversation as text, for ``roam cs``'s preview pane."""
    rows: list[str] = []
    for line in _lines(path):
        if b'"user"' not in line and b'"assistant"' not in line:
            continue
        row = load_record(line)
        found = record_text(row) if isinstance(row, dict) else None
        if found is None:
            continue
        who = "you" if found[0] == "user" else "claude"
        text = found[1].strip()
        rows.append(f"{who}: {text[:width]}{'…' if len(text) > width else ''}")
    return "\n\n".join(rows[-max_rows:]) + "\n"


@dataclass(frozen=True, slots=True)
class LeaseFacts:
    holder: str | None
    last_writer: str | None
    running: bool = False


def lease_facts(claude_dir: Path | None) -> dict[str, LeaseFacts]:
    """Who holds each session's lease and who released it last, from the synced lease claims.

    Best effort: without a Syncthing sharing the projects folder there are no claims to read,
    and ``roam ls`` still lists the sessions (the columns stay empty).
    """
    from session_roam.engine.lease import api as lease_api
    from session_roam.errors import RoamError

    try:
        with lease_api.open_engine(claude_dir) as engine:
            views = lease_api.status(engine=engine)
    except (RoamError, OSError) as exc:
        log.info("no lease information: %s", exc)
        return {}
    holders: dict[str, str] = {}
    running: set[str] = set()
    writers: dict[str, tuple[int, str]] = {}
    for view in views:
        who = view.name or view.device[:7]
        if view.live and not view.expired:
            holders[view.session] = who
            if view.state == "held":  # a held lease is a claude running under it
                running.add(view.session)
        if view.release is not None:
            best = writers.get(view.session)
            if best is None or view.release.ticket > best[0]:
                writers[view.session] = (view.release.ticket, who)
    return {
        session: LeaseFacts(
            holders.get(session), writers.get(session, (0, None))[1], session in running
        )
        for session in set(holders) | set(writers)
    }


def with_lease_facts(
    summaries: tuple[SessionSummary, ...], facts: Mapping[str, LeaseFacts]
) -> tuple[SessionSummary, ...]:
    return tuple(
        replace(s, lease_holder=f.holder, last_writer=f.last_writer, claude_running=f.running)
        if (f := facts.get(s.session_id))
        else s
        for s in summaries
    )


def suggest_for_cwd(
    cwd: Path, home: Path, projects_root: Path, pathmap: PathMap
) -> PathSuggestion | None:
    """A mapping that would bring another machine's sessions of this directory here.

    Read from folder names only (no session is opened): for ``~/proj`` here, a folder
    ``-Users-nat-proj`` is what a Mac whose home is ``/Users/nat`` made for the same project.
    Nothing is suggested for a home that is already mapped or a user name with a ``-`` in it
    (the slug cannot say where the name ends).
    """
    here = os.path.realpath(cwd)
    home_text = os.path.realpath(home)
    if not here.startswith(home_text.rstrip("/") + "/"):
        return None
    tail = project_slug(here[len(home_text.rstrip("/")) :])
    try:
        names = os.listdir(projects_root)
    except OSError:
        return None
    for name in sorted(names):
        for root in _HOME_ROOTS:
            prefix = project_slug(root)
            if not (name.startswith(prefix) and name.endswith(tail)):
                continue
            user = name[len(prefix) : len(name) - len(tail)]
            source = root + user
            if user and "-" not in user and source != home_text and not pathmap.is_mapped(source):
                return PathSuggestion(source, home_text)
    return None
