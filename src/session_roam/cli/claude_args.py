"""claude's options written without ``--`` (the bash version's ``cr --model sonnet``).

Commands that start claude (cr, cn, cfork, crf) keep their own options; any other option goes
to claude, with its value when claude's ``--help`` (2.1.331, pinned) says it takes one. Two
cases are refused with one sentence instead of guessed: an option neither roam nor that table
knows, followed by a word that could be its value or roam's SESSION/NAME; and claude's own
ways of choosing a session (``-c``, ``-r``, ``--session-id``, ``--fork-session``), which is
roam's job here. ``cli.fast`` splits with the same function, so both paths agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["ClaudeArgsError", "Split", "split_claude_args"]

#: claude options that take one value (``<value>`` in its help; variadic ones take one here,
#: repeat the option for more). ``-p``/``--print`` takes the prompt that follows it.
_CLAUDE_VALUED: Final = frozenset(
    {
        *("--add-dir", "--agent", "--agents", "--allowedTools", "--allowed-tools"),
        *("--append-system-prompt", "--autocompact", "--betas", "--debug-file"),
        *("--disallowedTools", "--disallowed-tools", "--effort", "--environment"),
        *("--fallback-model", "--file", "--input-format", "--json-schema", "--max-budget-usd"),
        *("--mcp-config", "--model", "-n", "--name", "--output-format", "--permission-mode"),
        *("--permission-prompts", "--plugin-dir", "--plugin-url", "--setting-sources"),
        *("--remote-control-session-name-prefix", "--settings", "--system-prompt"),
        *("--system-prompt-snapshot", "--tools", "--append-system-prompt-file"),
        *("--system-prompt-file", "--max-turns"),
    }
)
#: The prompt after ``-p`` is taken only when it does not look like an option.
_PROMPT: Final = frozenset({"-p", "--print"})
#: claude flags without a value (or with an optional one, given only as ``--opt=value``).
_CLAUDE_FLAGS: Final = frozenset(
    {
        *("--allow-dangerously-skip-permissions", "--ax-screen-reader", "--bg", "--background"),
        *("--bare", "--brief", "--chrome", "--cloud", "--dangerously-skip-permissions"),
        *("-d", "--debug", "--desktop", "--disable-slash-commands"),
        *("--exclude-dynamic-system-prompt-sections", "--forward-subagent-text", "--from-pr"),
        *("--ide", "--include-hook-events", "--include-partial-messages", "--no-chrome"),
        *("--no-session-persistence", "--prompt-suggestions", "--remote-control"),
        *("--replay-user-messages", "--restricted", "--safe-mode", "--strict-mcp-config"),
        *("--teleport", "--tmux", "--verbose", "-w", "--worktree"),
    }
)
#: claude's own ways of choosing a session: roam chooses it (cr, cn, cfork, crf).
_SESSION_CHOICE: Final = frozenset(
    {"-c", "--continue", "-r", "--resume", "--session-id", "--fork-session"}
)
#: Root options (and -h, -v) a command line may repeat after the command: left to roam's
#: parser (which refuses them there as before), never sent to claude.
_ROOT: Final = frozenset({"--json", "--claude-dir", "-h", "-v"})


class ClaudeArgsError(ValueError):
    """A command line roam will not guess about; the message is the one sentence to show."""


@dataclass(frozen=True, slots=True)
class Split:
    roam: list[str]
    claude: tuple[str, ...]


def _is_option(arg: str) -> bool:
    return arg.startswith("-") and arg not in ("-", "--")


def _roams(name: str, roam_options: dict[str, bool]) -> bool:
    """Left to roam's parser: its own options, the root's, and clusters of short flags
    (``-fx``; claude's short options are single letters), which it parses or refuses."""
    clustered = len(name) > 2 and name[0] == "-" and name[1] != "-"
    return name in roam_options or name in _ROOT or clustered


def split_claude_args(
    args: list[str], roam_options: dict[str, bool], command: str, positional: str | None
) -> Split:
    """``args`` (what follows the command name) as roam's part and claude's part.

    ``roam_options`` maps each of the command's option names to whether it takes a value;
    ``positional`` names the command's argument (None: it has none). Everything after the
    first ``--`` goes to claude as it is, after the options taken out before it.
    """
    roam: list[str] = []
    claude: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            claude.extend(args[index:])
            break
        name, eq, _ = arg.partition("=")
        if not _is_option(arg) or _roams(name, roam_options):
            roam.append(arg)
            if not eq and roam_options.get(name, False) and index < len(args):
                roam.append(args[index])  # the value of roam's own option, whatever it is
                index += 1
            continue
        if name in _SESSION_CHOICE:
            raise ClaudeArgsError(
                f"roam chooses the session itself, so claude's {name} is not passed on: "
                "`roam cr` continues the newest session here, `roam cr SESSION` a given one, "
                "`roam cn NAME` starts one and `roam crf` forks the newest."
            )
        claude.append(arg)
        following = args[index] if index < len(args) else None
        if eq or following is None or following == "--":
            continue
        if name in _CLAUDE_VALUED or (name in _PROMPT and not _is_option(following)):
            claude.append(following)
            index += 1
        elif name not in _CLAUDE_FLAGS and name not in _PROMPT and not _is_option(following):
            if positional is None:
                claude.append(following)  # nothing of roam's it could be
                index += 1
                continue
            raise ClaudeArgsError(
                f"roam cannot tell whether {following!r} is the value of claude's option "
                f"{name} or the {positional}: write `roam {command} [{positional}] -- {name} "
                f"{following}` for the value, or `roam {command} {following} -- {name}` for "
                f"the {positional}."
            )
    return Split(roam, tuple(claude))
