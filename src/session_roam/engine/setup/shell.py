"""The seed's short names (cr, cs, cf, cn, cfork, crf) as shell functions that call ``roam``.

They live in one block between marker lines in the user's rc file, so installing twice changes
nothing, and uninstalling removes exactly the block and leaves every other byte as it was. The
seed's shortcuts called ``claude`` directly for cn/cfork/crf and so bypassed the lock; here every
name is a plain ``roam`` command, which takes the lease. Aliases of the same names (the seed's
``alias cs=...``) are removed in the shell before the functions are defined, because bash
expands an alias inside a function definition and would fail to parse it.

bash uses ``~/.bash_aliases`` when it exists (as the seed did), else ``~/.bashrc``; zsh uses
``~/.zshrc``; fish gets a file of its own in ``~/.config/fish/conf.d``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "BEGIN_MARKER",
    "END_MARKER",
    "SHORTCUTS",
    "Shell",
    "ShellChange",
    "detect_shell",
    "install",
    "rc_file",
    "render_block",
    "uninstall",
]

Shell = Literal["bash", "zsh", "fish"]
SHELLS: Final[tuple[Shell, ...]] = ("bash", "zsh", "fish")
BEGIN_MARKER: Final = "# >>> session-roam shortcuts >>>"
END_MARKER: Final = "# <<< session-roam shortcuts <<<"
#: Short name -> roam command. ``cr`` is a function too now: there is no wrapper script to copy.
SHORTCUTS: Final = {
    "cr": "cr",
    "cs": "cs",
    "cf": "cf",
    "cn": "cn",
    "cfork": "cfork",
    "crf": "crf",
}


@dataclass(frozen=True, slots=True)
class ShellChange:
    """What install/uninstall did to which file (``changed`` False: it was already so)."""

    shell: Shell
    path: Path
    changed: bool


def detect_shell(value: str | None = None) -> Shell:
    """``--shell`` when given, else the login shell from $SHELL."""
    # An explicit --shell '' is a mistake to name, not a reason to guess bash.
    name = value if value is not None else os.path.basename(os.environ.get("SHELL", "")) or "bash"
    if name in SHELLS:
        return name
    raise InvalidInput(
        f"roam does not know the shell {name!r}; it supports bash, zsh and fish.",
        hint="Pass --shell bash, --shell zsh or --shell fish.",
    )


def rc_file(shell: Shell, home: Path) -> Path:
    if shell == "bash":
        aliases = home / ".bash_aliases"
        return aliases if aliases.exists() else home / ".bashrc"
    if shell == "zsh":
        return home / ".zshrc"
    return home / ".config" / "fish" / "conf.d" / "session-roam.fish"


def render_block(shell: Shell, completion: str = "") -> str:
    """The marked block for ``shell``, ending in a newline."""
    names = " ".join(SHORTCUTS)
    lines = [BEGIN_MARKER, "# Managed by `roam shell install`; `roam shell uninstall` removes it."]
    if shell == "fish":
        lines.extend(
            f"function {short}; roam {command} $argv; end" for short, command in SHORTCUTS.items()
        )
    else:
        lines.append(f"unalias {names} 2>/dev/null")
        lines.extend(
            f'{short}() {{ roam {command} "$@"; }}' for short, command in SHORTCUTS.items()
        )
    if completion.strip():
        if shell == "zsh":
            lines.append("autoload -Uz compinit && (( ${+_comps} )) || compinit")
        lines.append(completion.strip("\n"))
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"


def _without_block(text: str) -> tuple[str, bool]:
    begin = text.find(BEGIN_MARKER)
    if begin < 0:
        return text, False
    end = text.find(END_MARKER, begin)
    if end < 0:
        raise InvalidInput(
            "The session-roam block in the rc file has no end marker, so roam will not edit it.",
            hint=f"Remove the lines from '{BEGIN_MARKER}' on by hand, then run this again.",
        )
    stop = end + len(END_MARKER)
    if text.startswith("\n", stop):
        stop += 1
    start = begin
    if start > 0 and text[start - 1] == "\n" and text[:start].endswith("\n\n"):
        start -= 1  # the blank line install put before the block
    return text[:start] + text[stop:], True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def install(shell: Shell, home: Path, completion: str = "") -> ShellChange:
    """Put the block in the rc file (replacing an older block); byte-identical when it is there."""
    path = rc_file(shell, home)
    text = _read(path)
    block = render_block(shell, completion)
    rest, had = _without_block(text)
    if had and block in text:
        return ShellChange(shell, path, changed=False)
    if shell == "fish":
        new = block
    else:
        # A blank line before the block (uninstall removes it again).
        separator = "" if not rest else ("\n" if rest.endswith("\n") else "\n\n")
        new = rest + separator + block
    make_private_dirs(path.parent)
    atomic_write(path, new.encode("utf-8"))
    return ShellChange(shell, path, changed=True)


def uninstall(shell: Shell, home: Path) -> ShellChange:
    """Remove the block; the rest of the file is left exactly as it was."""
    path = rc_file(shell, home)
    text = _read(path)
    rest, had = _without_block(text)
    if not had:
        return ShellChange(shell, path, changed=False)
    if shell == "fish" and not rest.strip():
        path.unlink()
    else:
        atomic_write(path, rest.encode("utf-8"))
    return ShellChange(shell, path, changed=True)
