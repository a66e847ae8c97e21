"""The bash version's shortcuts (``alias cr='sleep 2 && claude -c'`` and the like), found and
put out of the way so that roam's functions are the ones a new shell runs.

A Debian ``~/.bashrc`` sources ``~/.bash_aliases`` and may define the old alias after that, so
an old definition anywhere in a file the shell reads can win over roam's. ``disable_old``
comments each one out, behind a marker line, in every rc file roam knows, after copying the
file to ``$XDG_STATE_HOME/session-roam/shell-backups``; ``restore_old`` (``roam shell
uninstall``) takes the comments off again. Both write atomically, through a symlinked rc file
(a dotfiles checkout) to its target, and leave every other byte as it was.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.core.xdg import state_dir

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "BEGIN_MARKER",
    "DISABLED_MARKER",
    "END_MARKER",
    "ShortcutFound",
    "disable_old",
    "find_old",
    "known_rc_files",
    "restore_old",
]

BEGIN_MARKER: Final = "# >>> session-roam shortcuts >>>"
END_MARKER: Final = "# <<< session-roam shortcuts <<<"
DISABLED_MARKER: Final = (
    "# session-roam: the old shortcut below is off (`roam shell uninstall` turns it back on)"
)
_PREFIX: Final = "#roam-off# "
_NAMES: Final = ("cr", "cs", "cf", "cn", "cfork", "crf")  # roam's (shell.SHORTCUTS)
_NAME: Final = "|".join(_NAMES)
#: ``alias cr=...`` / ``alias cr '...'`` (fish), several names on one ``alias`` line included,
#: and fish's ``abbr -a cr ...`` (expanded as it is typed, so it would win too).
_ALIAS_RE: Final = re.compile(
    rf"^\s*(?:alias\s+(?:-g\s+)?(?:[^#]*\s)?({_NAME})(?:=|\s+['\"])"
    rf"|abbr\s+(?:-\S+\s+)*({_NAME})\s)"
)
#: ``cr() {``, ``function cr {``, ``function cr() {`` (bash, zsh) and ``function cr`` (fish).
_FUNC_RE: Final = re.compile(rf"^\s*(?:function\s+({_NAME})\b|({_NAME})\s*\(\s*\))")


@dataclass(frozen=True, slots=True)
class ShortcutFound:
    """An old definition of one of roam's names: where, and its first line as written."""

    path: Path
    line: int  # 1-based, in the file as it was found
    name: str
    text: str


_FILES: Final = {
    "bash": (".bashrc", ".bash_aliases", ".bash_profile", ".bash_login", ".profile"),
    "zsh": (".zshrc", ".zprofile", ".zshenv", ".zlogin"),
}


def known_rc_files(home: Path, shells: Iterable[str] = ("bash", "zsh", "fish")) -> list[Path]:
    """Every file ``shells`` read at start-up that roam looks at."""
    paths: list[Path] = []
    for shell in shells:
        if shell != "fish":
            paths.extend(home / name for name in _FILES[shell])
            continue
        fish = home / ".config" / "fish"
        conf_d = sorted((fish / "conf.d").glob("*.fish")) if (fish / "conf.d").is_dir() else []
        paths.append(fish / "config.fish")
        paths.extend(path for path in conf_d if path.name != "session-roam.fish")
    return paths


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _outside_block(lines: list[str]) -> Iterable[int]:
    """Indexes of the lines outside roam's own block (whose functions are the new ones)."""
    inside = False
    for index, line in enumerate(lines):
        if line.strip() == BEGIN_MARKER:
            inside = True
        elif line.strip() == END_MARKER:
            inside = False
        elif not inside:
            yield index


def _extent(lines: list[str], start: int, fish: bool) -> int:
    """The index after the last line of the definition starting at ``start``: an alias's line
    (with its ``\\`` continuations), a fish function up to its ``end``, a bash/zsh function
    up to the brace that closes its body."""
    if _FUNC_RE.match(lines[start]) is None:
        stop = start
        while lines[stop].rstrip("\n").endswith("\\") and stop + 1 < len(lines):
            stop += 1
        return stop + 1
    if fish:
        if re.search(r"(^|;)\s*end\s*$", lines[start]):
            return start + 1  # function cr; ...; end
        ends = (i for i in range(start + 1, len(lines)) if lines[i].strip() == "end")
        return next(ends, start) + 1
    depth = 0
    for index in range(start, len(lines)):
        code = lines[index].split(" #", 1)[0]
        depth += code.count("{") - code.count("}")
        if depth <= 0 and "}" in code:
            return index + 1
    return start + 1  # no closing brace found: the one line only


def _definitions(path: Path, text: str) -> list[tuple[int, int, str]]:
    """(first, end, name) of each old definition in ``text``."""
    lines = text.splitlines(keepends=True)
    fish = path.suffix == ".fish"
    found: list[tuple[int, int, str]] = []
    skip_to = 0
    for index in _outside_block(lines):
        if index < skip_to or lines[index].lstrip().startswith("#"):
            continue
        match = _ALIAS_RE.match(lines[index]) or _FUNC_RE.match(lines[index])
        if match is None:
            continue
        name = next(group for group in match.groups() if group)
        skip_to = _extent(lines, index, fish)
        found.append((index, skip_to, name))
    return found


def find_old(home: Path) -> list[ShortcutFound]:
    """Every old definition of roam's names in the rc files roam knows, in file order."""
    found: list[ShortcutFound] = []
    for path in known_rc_files(home):
        text = _read(path)
        if text is None:
            continue
        lines = text.splitlines()
        found.extend(
            ShortcutFound(path, first + 1, name, lines[first].strip())
            for first, _end, name in _definitions(path, text)
        )
    return found


def _backup(path: Path, text: str) -> Path:
    folder = state_dir() / "shell-backups"
    make_private_dirs(folder)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = folder / f"{path.name.lstrip('.') or 'rc'}.{stamp}.{time.time_ns() % 10**9}"
    atomic_write(target, text.encode("utf-8"), mode=0o600)
    return target


def _write(path: Path, text: str) -> None:
    atomic_write(path.resolve(), text.encode("utf-8"))  # a symlink's target, not the link


def disable_old(home: Path) -> tuple[list[ShortcutFound], list[Path]]:
    """Comment out every old definition (see the module); the definitions and the backups."""
    disabled: list[ShortcutFound] = []
    backups: list[Path] = []
    for path in known_rc_files(home):
        text = _read(path)
        definitions = _definitions(path, text) if text is not None else []
        if text is None or not definitions:
            continue
        lines = text.splitlines(keepends=True)
        for first, end, name in reversed(definitions):
            disabled.append(ShortcutFound(path, first + 1, name, lines[first].strip()))
            lines[first:end] = [
                DISABLED_MARKER + "\n",
                *(_PREFIX + line for line in lines[first:end]),
            ]
        backups.append(_backup(path, text))
        _write(path, "".join(lines))
    disabled.sort(key=lambda old: (str(old.path), old.line))
    return disabled, backups


def restore_old(home: Path, shells: Iterable[str]) -> list[Path]:
    """Take roam's comments off the old definitions in ``shells``' files; the files changed."""
    changed: list[Path] = []
    for path in known_rc_files(home, shells):
        text = _read(path)
        if text is None or DISABLED_MARKER not in text:
            continue
        lines = [
            line.removeprefix(_PREFIX)
            for line in text.splitlines(keepends=True)
            if line.rstrip("\n") != DISABLED_MARKER
        ]
        _write(path, "".join(lines))
        changed.append(path)
    return changed
