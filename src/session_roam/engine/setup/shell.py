"""The seed's short names (cr, cs, cf, cn, cfork, crf) as shell functions that call ``roam``.

They live in one block between marker lines in the user's rc file, so installing twice changes
nothing, and uninstalling removes exactly the block and leaves every other byte as it was. The
seed's shortcuts called ``claude`` directly for cn/cfork/crf and so bypassed the lock; here every
name is a plain ``roam`` command, which takes the lease. Aliases of the same names (the seed's
``alias cs=...``) are removed in the shell before the functions are defined, because bash
expands an alias inside a function definition and would fail to parse it.

bash uses the end of ``~/.bashrc`` (not ``~/.bash_aliases``, which a Debian ``~/.bashrc``
sources before its own aliases: an old ``alias cr=...`` there would win); zsh uses the end of
``~/.zshrc``; fish gets a file of its own in ``~/.config/fish/conf.d``. Install also puts the
bash version's definitions of the same names out of the way (``shell_aliases``), and
uninstall brings them back, with the block's completion and typer's own completion line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, Literal

from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.setup.shell_aliases import (
    BEGIN_MARKER,
    END_MARKER,
    ShortcutFound,
    disable_old,
    find_old,
    restore_old,
)
from session_roam.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterable
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
    "uninstall_shell",
]

Shell = Literal["bash", "zsh", "fish"]
SHELLS: Final[tuple[Shell, ...]] = ("bash", "zsh", "fish")
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
    """What install/uninstall did to which file (``changed`` False: it was already so).

    ``disabled``: the old definitions install commented out (``kept``: found and left on,
    with --keep-aliases); ``backups``: copies of the files changed for them; ``restored``:
    the files uninstall turned old definitions back on in; ``also``: other files whose
    roam lines were removed (a block an older roam put in ``~/.bash_aliases``, typer's
    completion line).
    """

    shell: Shell
    path: Path
    changed: bool
    disabled: tuple[ShortcutFound, ...] = ()
    kept: tuple[ShortcutFound, ...] = ()
    backups: tuple[Path, ...] = ()
    restored: tuple[Path, ...] = ()
    also: tuple[Path, ...] = field(default=())


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
        return home / ".bashrc"
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


def _legacy_files(shell: Shell, home: Path) -> tuple[Path, ...]:
    """Other files an older roam put the block in, and typer's completion file's line."""
    return (home / ".bash_aliases",) if shell == "bash" else ()


def _typer_completion_line(shell: Shell, home: Path) -> str | None:
    """The line ``roam --install-completion`` adds to ~/.bashrc (typer's own format)."""
    if shell != "bash":
        return None
    return f"source '{home / '.bash_completions' / 'roam.sh'}'"


def _strip(path: Path, line: str | None) -> bool:
    """Remove roam's block (and ``line``) from ``path``; whether it changed."""
    text = _read(path)
    rest, had = _without_block(text)
    if line is not None and line in rest.splitlines():
        rest = "".join(kept for kept in rest.splitlines(keepends=True) if kept.strip() != line)
        had = True
    if not had:
        return False
    if path.name == "session-roam.fish" and not rest.strip():
        path.unlink()
    else:
        atomic_write(path.resolve(), rest.encode("utf-8"))
    return True


def install(
    shell: Shell, home: Path, completion: str = "", *, keep_aliases: bool = False
) -> ShellChange:
    """Put the block at the end of the rc file (replacing an older block, and one an older
    roam put elsewhere); put old definitions of the same names out of the way unless
    ``keep_aliases`` (then they are only reported). Byte-identical when all is done already."""
    path = rc_file(shell, home)
    also = tuple(legacy for legacy in _legacy_files(shell, home) if _strip(legacy, None))
    found, backups = ([], []) if keep_aliases else disable_old(home)
    change = ShellChange(
        shell,
        path,
        bool(found or also),
        disabled=tuple(found),
        kept=tuple(find_old(home)) if keep_aliases else (),
        backups=tuple(backups),
        also=also,
    )
    text = _read(path)
    block = render_block(shell, completion)
    rest, had = _without_block(text)
    if had and block in text:
        return change
    if shell == "fish":
        new = block
    else:
        # A blank line before the block (uninstall removes it again).
        separator = "" if not rest else ("\n" if rest.endswith("\n") else "\n\n")
        new = rest + separator + block
    make_private_dirs(path.parent)
    atomic_write(path.resolve() if path.is_symlink() else path, new.encode("utf-8"))
    return replace(change, changed=True)


def uninstall(shell: Shell, home: Path) -> ShellChange:
    """Remove the block (and typer's completion line for roam), and turn the old definitions
    roam commented out back on; the rest of each file is left exactly as it was."""
    path = rc_file(shell, home)
    changed = _strip(path, _typer_completion_line(shell, home))
    also = tuple(legacy for legacy in _legacy_files(shell, home) if _strip(legacy, None))
    restored = tuple(restore_old(home, (shell,)))
    return ShellChange(shell, path, changed or bool(also or restored), restored=restored, also=also)


def uninstall_shell(home: Path, shells: Iterable[Shell] = SHELLS) -> list[ShellChange]:
    """``roam shell uninstall`` for every shell (what a whole ``roam uninstall`` calls)."""
    return [uninstall(shell, home) for shell in shells]
