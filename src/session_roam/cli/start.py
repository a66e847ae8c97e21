"""``roam`` with no command: a short getting-started screen (``roam --help`` lists everything).

It says what this machine has and lacks (Syncthing and its version, claude), how to get what is
missing on this platform, then the next command to run. ``--json`` prints the same as
``roam.requirements/1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rich.text import Text

from session_roam.cli.output import console, emit_json
from session_roam.engine.setup import check_requirements

if TYPE_CHECKING:
    from session_roam.cli.context import Settings
    from session_roam.engine.setup import ToolCheck

__all__ = ["getting_started", "render_requirements"]

_MARK: Final = {True: Text("✓ ", style="green"), False: Text("✗ ", style="red")}
_ROLE: Final = {
    "syncthing": "Syncthing carries ~/.claude/projects between your machines, peer to peer",
    "claude": "Claude Code, which roam cr starts on the session",
}


def _line(item: ToolCheck) -> Text:
    where = f" ({item.path})" if item.path else ""
    return _MARK[item.usable] + Text(f"{item.name}{where}: {item.detail}")


def render_requirements(items: tuple[ToolCheck, ...]) -> None:
    """One line per program, and how to get each one that is missing or refused."""
    out = console()
    for item in items:
        out.print(_line(item))
        if not item.usable:
            out.print(f"    {_ROLE[item.name]}. Get it with:  {item.install}")


def getting_started(settings: Settings) -> None:
    """What is here, what is missing, and what to run next."""
    found = check_requirements()
    if settings.json:
        emit_json(found.to_json())
        return
    out = console()
    out.print(
        Text("roam", style="bold")
        + Text(" continues the same Claude Code conversation on any of your machines.")
    )
    out.print()
    render_requirements(found.items)
    out.print()
    out.print(Text("Next:", style="bold"))
    for command, why in found.next_steps():
        out.print(f"  {command:<12}  {why}")
    out.print()
    out.print("Every command: roam --help")
