"""Paths that differ between machines: ``/Users/nat`` there is ``/home/nat`` here.

Claude Code files a session under a folder derived from the cwd it was started in, and records
that cwd in every row. A session written on a Mac under ``/Users/nat/proj`` therefore lands in a
project folder this Linux machine never looks at for ``/home/nat/proj``. Rather than symlinks,
the user records the correspondence once per machine (``roam paths map FROM TO``), in roam's own
config folder (never the synced one: the mapping is about *this* machine). Everything that
decides "is this session one of this directory's" translates the recorded cwd through it.

The file is ``paths.json`` in ``xdg.config_dir()``: ``{"paths": [{"from": ..., "to": ...}]}``.
Only the standard library is imported, and the data types are ``NamedTuple``s rather than
dataclasses, so that ``roam cf --json`` stays quick to start.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path, PurePosixPath
from typing import Final, NamedTuple

from session_roam.engine.core.paths import project_dir_for, project_slug, projects_dir
from session_roam.errors import InvalidInput

__all__ = [
    "PATHS_FILE",
    "PathMap",
    "PathMapping",
    "case_insensitive_fs",
    "load_pathmap",
    "local_project_dirs",
    "map_path",
    "save_pathmap",
    "unmap_path",
]

PATHS_FILE: Final = "paths.json"


class PathMapping(NamedTuple):
    """``source`` (a prefix as another machine records it) stands for ``target`` here."""

    source: str
    target: str


def _is_under(path: str, prefix: str, fold: bool = False) -> bool:
    if fold:  # a case-insensitive file system: /Users/Nat is /users/nat
        path, prefix = path.casefold(), prefix.casefold()
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def case_insensitive_fs(folder: Path) -> bool:
    """Whether the file system holding ``folder`` ignores case (macOS's default, some mounts).

    Probed without writing anything: the nearest existing component whose name has letters is
    looked up with its case swapped; with nothing to probe, the platform's default (darwin).
    """
    path = Path(folder)
    for candidate in (path, *path.parents):
        name = candidate.name
        if name == name.swapcase() or not candidate.exists():
            continue
        swapped = candidate.with_name(name.swapcase())
        try:
            return swapped.exists() and os.path.samefile(candidate, swapped)
        except OSError:
            break
    return sys.platform == "darwin"


class PathMap(NamedTuple):
    """The mappings of this machine; the longest matching prefix wins."""

    mappings: tuple[PathMapping, ...] = ()

    def to_local(self, path: str, *, case_insensitive: bool = False) -> str:
        """``path`` as it is called on this machine (unchanged when no mapping applies);
        ``case_insensitive`` matches the prefixes ignoring case."""
        best: PathMapping | None = None
        for mapping in self.mappings:
            if _is_under(path, mapping.source, case_insensitive) and (
                best is None or len(mapping.source) > len(best.source)
            ):
                best = mapping
        if best is None:
            return path
        rest = path[len(best.source.rstrip("/")) :]
        return best.target.rstrip("/") + rest if rest else best.target

    def is_mapped(self, path: str, *, case_insensitive: bool = False) -> bool:
        return any(_is_under(path, m.source, case_insensitive) for m in self.mappings)


def _normalise(value: str, role: str) -> str:
    text = value.strip()
    if not text or not text.startswith("/"):
        raise InvalidInput(
            f"{role} {value!r} is not an absolute path.",
            hint="Give both paths in full, e.g. `roam paths map /Users/nat /home/nat`.",
        )
    if any(part == ".." for part in PurePosixPath(text).parts):
        raise InvalidInput(
            f"{role} {value!r} contains '..'.", hint="Give the path without '..' components."
        )
    normal = str(PurePosixPath(text))
    return normal


def _file(config_dir: Path) -> Path:
    return config_dir / PATHS_FILE


def load_pathmap(config_dir: Path) -> PathMap:
    """The mappings stored in ``config_dir``; a missing file means none.

    A file that cannot be read as the expected JSON is refused with a sentence rather than
    ignored: silently dropping a mapping would hide sessions.
    """
    path = _file(config_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return PathMap()
    except OSError as exc:
        raise InvalidInput(
            f"Cannot read {path}: {exc.strerror}.", hint="Check its owner and mode."
        ) from None
    try:
        data = json.loads(raw.decode("utf-8"))
        entries = data["paths"]
        mappings = tuple(PathMapping(str(item["from"]), str(item["to"])) for item in entries)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        where = ""  # the line, when the JSON itself is broken; a bad encoding names its byte
        if isinstance(exc, json.JSONDecodeError):
            where = f" (line {exc.lineno}: {exc.msg})"
        elif isinstance(exc, UnicodeDecodeError):
            where = f" (not UTF-8 at byte {exc.start})"
        raise InvalidInput(
            f"{path} is not a valid path-mapping file{where}.",
            hint=f"Fix or delete it, then run `roam paths map FROM TO` again ({path}).",
        ) from None
    return PathMap(mappings)


def save_pathmap(config_dir: Path, pathmap: PathMap) -> None:
    """Write the mappings atomically, 0600."""
    from session_roam.engine.core.atomic import atomic_write  # only writers pay for it

    data = {"paths": [{"from": m.source, "to": m.target} for m in pathmap.mappings]}
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    atomic_write(_file(config_dir), text.encode("utf-8"), mode=0o600)


def map_path(config_dir: Path, source: str, target: str) -> PathMap:
    """Record that ``source`` on other machines is ``target`` here; replaces a mapping of source."""
    src = _normalise(source, "FROM")
    dst = _normalise(target, "TO")
    if src == dst:
        raise InvalidInput(
            f"FROM and TO are the same path ({src}).",
            hint="Map the other machine's path to this machine's, e.g. /Users/nat /home/nat.",
        )
    current = load_pathmap(config_dir)
    kept = tuple(m for m in current.mappings if m.source != src)
    updated = PathMap(tuple(sorted((*kept, PathMapping(src, dst)), key=lambda m: m.source)))
    save_pathmap(config_dir, updated)
    return updated


def unmap_path(config_dir: Path, source: str) -> PathMap:
    """Forget the mapping of ``source``; InvalidInput naming the known ones when there is none."""
    src = _normalise(source, "FROM")
    current = load_pathmap(config_dir)
    kept = tuple(m for m in current.mappings if m.source != src)
    if len(kept) == len(current.mappings):
        known = ", ".join(m.source for m in current.mappings) or "none"
        raise InvalidInput(
            f"No mapping from {src} (mapped: {known}).", hint="Run `roam paths list` to see them."
        )
    updated = PathMap(kept)
    save_pathmap(config_dir, updated)
    return updated


def local_project_dirs(
    cwd: Path, config_dir: Path, pathmap: PathMap, *, case_insensitive: bool | None = None
) -> tuple[Path, ...]:
    """The project folders whose sessions belong to ``cwd`` on this machine.

    The cwd's own folder, plus for each mapping whose target contains ``cwd`` the folder Claude
    Code made for the same directory under the foreign path. Slugs are computed, never decoded.
    On a case-insensitive file system (``case_insensitive``; None probes the projects folder)
    mappings match ignoring case, and a project folder whose name differs only in case (the
    cwd typed as /users/nat once, /Users/Nat another time) is one of them too.
    """
    here = os.path.realpath(cwd)
    root = projects_dir(config_dir)
    fold = case_insensitive if case_insensitive is not None else case_insensitive_fs(root)
    folders = [project_dir_for(here, config_dir)]  # the fixed project folder, when one is set
    for mapping in pathmap.mappings:
        target = mapping.target.rstrip("/") or "/"
        if _is_under(here, target, fold):
            foreign = mapping.source.rstrip("/") + here[len(target.rstrip("/")) :]
            folder = root / project_slug(foreign or "/")
            if folder not in folders:
                folders.append(folder)
    if fold:
        folders += _same_but_case(root, folders)
    return tuple(folders)


def _same_but_case(root: Path, folders: list[Path]) -> list[Path]:
    """Existing project folders whose names equal one of ``folders`` but for case."""
    wanted = {folder.name.casefold() for folder in folders}
    try:
        names = sorted(
            entry.name for entry in os.scandir(root) if entry.is_dir(follow_symlinks=False)
        )
    except OSError:
        return []
    known = {folder.name for folder in folders}
    return [root / name for name in names if name.casefold() in wanted and name not in known]
