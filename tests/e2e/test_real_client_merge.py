"""`roam conflicts merge` judged by the real Claude Code client.

Each test lays versions of one session, written by the real client on simulated machines, into a
home the way Syncthing leaves them (one file under the real name, the others as conflict copies),
runs `roam conflicts merge`, and then resumes with `claude -r ID -p`. The conversation the client
sends to the (stand-in) API is the ground truth: it is what the model would see.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Final

import pytest
from typer.testing import CliRunner, Result

from session_roam.cli.app import app
from session_roam.engine.core.backup import backups_root
from tests.support.conversation import Conversation, conversation_of
from tests.support.sessions import naive_union, torn

if TYPE_CHECKING:
    from tests.support.claude import ClaudeDriver, ClaudeHome, MakeHome
    from tests.support.fake_api import FakeMessagesApi
    from tests.support.sessions import DivergedSession

pytestmark = pytest.mark.e2e

#: Device tags in conflict-copy names (Syncthing puts the winner's short device ID there).
DEVICE_B: Final = "ABCDEFG"
DEVICE_C: Final = "HIJKLMN"
#: Half a JSON row, as left by an append that was killed mid-write.
TORN_FRAGMENT: Final = (
    b'{"parentUuid":"0000","type":"user","message":{"role":"user","content":"torn-mark'
)

BASE_USER: Final = ["first", "RUN: echo from-base"]
BASE_ASSISTANT: Final = ["reply to: first", "tool said: from-base"]
#: Each machine's own turn as the model sees it: (user text, assistant text, Bash command).
OWN_TURN: Final = {
    "a": ("RUN: echo from-a", "tool said: from-a", "echo from-a"),
    "b": ("RUN: echo from-b", "tool said: from-b", "echo from-b"),
    "c": ("plain from c", "reply to: plain from c", None),
}


def _merge(home: ClaudeHome, session_id: str) -> Result:
    result = CliRunner().invoke(
        app, ["--claude-dir", str(home.claude_dir), "conflicts", "merge", session_id]
    )
    assert result.exit_code == 0, f"roam conflicts merge failed:\n{result.output}"
    return result


def _resume(
    claude: ClaudeDriver,
    api: FakeMessagesApi,
    home: ClaudeHome,
    session: DivergedSession,
    *,
    by_id: bool = True,
) -> Conversation:
    """Resume with one new prompt (``-r ID``, or ``-c`` in the session's cwd); what was sent.

    Also checks the client continued this session rather than starting or forking another.
    """
    mark = api.mark()
    if by_id:
        run = claude.resume(home, session.cwd, session.session_id, "after merge")
    else:
        run = claude.cont(home, session.cwd, "after merge")
    assert run.session_id == session.session_id, "the client did not continue the merged session"
    [turn] = api.turns_since(mark)
    return conversation_of(turn.messages)


def _users_in_time_order(session: DivergedSession, machines: str) -> list[str]:
    """The shared start, then each machine's own turn by start time, then the new prompt."""
    own = [OWN_TURN[name][0] for name in session.order(machines)]
    return [*BASE_USER, *own, "after merge"]


def _assistants_in_time_order(session: DivergedSession, machines: str) -> list[str]:
    return [*BASE_ASSISTANT, *(OWN_TURN[name][1] for name in session.order(machines))]


def _commands_in_time_order(session: DivergedSession, machines: str) -> list[str]:
    own = [OWN_TURN[name][2] for name in session.order(machines)]
    return ["echo from-base", *(command for command in own if command is not None)]


def _set_aside_lines(session_id: str) -> list[bytes]:
    """Every line roam's merges of ``session_id`` set aside.

    Backup layout: engine/core/backup.py.
    """
    lines: list[bytes] = []
    for path in sorted((backups_root() / session_id).glob("*/set_aside.jsonl")):
        for row in path.read_bytes().splitlines():
            lines.append(base64.b64decode(json.loads(row)["raw_base64"]))
    return lines


def _conflict_copies(home: ClaudeHome, session: DivergedSession) -> list[str]:
    folder = home.project_dir(session.cwd)
    return sorted(p.name for p in folder.rglob(f"{session.session_id}.sync-conflict-*"))


def test_merge_two_homes_resume_sees_every_turn_once_in_time_order(
    diverged_session: DivergedSession,
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
) -> None:
    session, home = diverged_session, make_home("a")
    session.install(home, session.versions["a"], {DEVICE_B: session.versions["b"]})

    _merge(home, session.session_id)
    seen = _resume(claude, fake_api, home, session)

    assert seen.user_texts == _users_in_time_order(session, "ab")
    assert seen.assistant_texts == _assistants_in_time_order(session, "ab")
    assert seen.tool_commands == _commands_in_time_order(session, "ab")
    assert seen.unpaired_tools() == []


def test_merge_two_homes_ignores_which_version_won_the_name(
    diverged_session: DivergedSession,
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
) -> None:
    session, home = diverged_session, make_home("a")
    session.install(home, session.versions["b"], {DEVICE_B: session.versions["a"]})

    _merge(home, session.session_id)
    seen = _resume(claude, fake_api, home, session)

    assert seen.user_texts == _users_in_time_order(session, "ab")
    assert seen.unpaired_tools() == []


def test_merge_two_homes_leaves_no_conflict_copy(
    diverged_session: DivergedSession, make_home: MakeHome
) -> None:
    session, home = diverged_session, make_home("a")
    session.install(home, session.versions["a"], {DEVICE_B: session.versions["b"]})

    _merge(home, session.session_id)

    assert _conflict_copies(home, session) == []


def test_merge_second_round_after_both_homes_continue_keeps_every_turn(
    diverged_session: DivergedSession,
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
) -> None:
    """A merges and goes on; B, which never got the merged file, goes on from its own version.

    The first merge re-parented one of the first-round turns; B's version still holds that
    turn's rows with their original parent. The second merge must see them as the same turn:
    neither duplicated nor dropped.
    """
    session, home_a, home_b = diverged_session, make_home("a"), make_home("b")
    session.install(home_a, session.versions["a"], {DEVICE_B: session.versions["b"]})
    own_b = session.install(home_b, session.versions["b"], {})
    _merge(home_a, session.session_id)
    claude.cont(home_a, session.cwd, "RUN: echo again-a", allowed_tools=["Bash"])
    claude.cont(home_b, session.cwd, "again on b")
    session.add_conflict_copy(home_a, DEVICE_B, own_b.read_bytes())

    _merge(home_a, session.session_id)
    seen = _resume(claude, fake_api, home_a, session)

    first_round = _users_in_time_order(session, "ab")[:-1]
    assert seen.user_texts == [*first_round, "RUN: echo again-a", "again on b", "after merge"]
    assert seen.unpaired_tools() == []


def test_naive_union_of_two_homes_loses_a_turn_on_resume(
    diverged_session: DivergedSession,
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
) -> None:
    """Documents the problem roam solves: joining the rows is not enough, one branch vanishes."""
    session, home = diverged_session, make_home("a")
    union = naive_union([session.versions["a"], session.versions["b"]])
    session.install(home, union, {})

    seen = _resume(claude, fake_api, home, session)

    assert "RUN: echo from-b" in seen.user_texts
    assert "RUN: echo from-a" not in seen.user_texts


def test_merge_three_homes_continue_sees_every_turn_once_in_time_order(
    diverged_session: DivergedSession,
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
) -> None:
    """Two conflict copies; resumed with plain `claude -c`, what a user types after a merge."""
    session, home = diverged_session, make_home("a")
    copies = {DEVICE_B: session.versions["b"], DEVICE_C: session.versions["c"]}
    session.install(home, session.versions["a"], copies)

    _merge(home, session.session_id)
    seen = _resume(claude, fake_api, home, session, by_id=False)

    assert seen.user_texts == _users_in_time_order(session, "abc")
    assert seen.assistant_texts == _assistants_in_time_order(session, "abc")
    assert seen.tool_commands == _commands_in_time_order(session, "abc")
    assert seen.unpaired_tools() == []
    assert _conflict_copies(home, session) == []


def test_merge_stale_prefix_copy_leaves_main_file_byte_identical(
    diverged_session: DivergedSession, make_home: MakeHome
) -> None:
    session, home = diverged_session, make_home("a")
    main = session.install(home, session.versions["a"], {DEVICE_B: session.base})

    _merge(home, session.session_id)

    assert main.read_bytes() == session.versions["a"]


def test_merge_stale_prefix_copy_is_removed(
    diverged_session: DivergedSession, make_home: MakeHome
) -> None:
    session, home = diverged_session, make_home("a")
    session.install(home, session.versions["a"], {DEVICE_B: session.base})

    _merge(home, session.session_id)

    assert _conflict_copies(home, session) == []


@pytest.mark.parametrize("torn_version", ["main", "copy"])
def test_merge_torn_last_line_resume_sees_every_turn(
    torn_version: str,
    diverged_session: DivergedSession,
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
) -> None:
    session, home = diverged_session, make_home("a")
    main, copy = session.versions["a"], session.versions["b"]
    if torn_version == "main":
        main = torn(main, TORN_FRAGMENT)
    else:
        copy = torn(copy, TORN_FRAGMENT)
    session.install(home, main, {DEVICE_B: copy})

    _merge(home, session.session_id)
    seen = _resume(claude, fake_api, home, session)

    assert seen.user_texts == _users_in_time_order(session, "ab")
    assert seen.unpaired_tools() == []


@pytest.mark.parametrize("torn_version", ["main", "copy"])
def test_merge_torn_last_line_is_carried_or_set_aside(
    torn_version: str, diverged_session: DivergedSession, make_home: MakeHome
) -> None:
    """The half line stays in the merged file or goes to the backup's set-aside list."""
    session, home = diverged_session, make_home("a")
    main, copy = session.versions["a"], session.versions["b"]
    if torn_version == "main":
        main = torn(main, TORN_FRAGMENT)
    else:
        copy = torn(copy, TORN_FRAGMENT)
    merged = session.install(home, main, {DEVICE_B: copy})

    _merge(home, session.session_id)

    carried = TORN_FRAGMENT in merged.read_bytes()
    set_aside = any(TORN_FRAGMENT in raw for raw in _set_aside_lines(session.session_id))
    assert carried or set_aside, "the torn line was dropped"
