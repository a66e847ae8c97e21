"""Branches Claude Code makes on purpose stay as they are, take-over line or not (issue 20).

``claude -r ID --resume-session-at <reply uuid> -p ...`` is the print-mode rewind of 2.1.331: it
hangs a new prompt off an earlier reply, leaving the later turns as an abandoned branch in the
same file, exactly as an edit of an earlier prompt does. After a take-over recorded its fork
point, such a rewind (to before that point, or after it) must not be mistaken for a second
writer: roam finds nothing to repair, the file keeps its bytes, and the client resumes the branch
the user chose.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.conflicts.forks import file_has_fork, mark_fork_point
from session_roam.engine.conflicts.merging import merge_session
from session_roam.engine.core.store import find_session_files
from tests.support.conversation import conversation_of

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.claude import ClaudeDriver, MakeHome
    from tests.support.fake_api import FakeMessagesApi

pytestmark = pytest.mark.e2e


def _reply_to(path: Path, prompt: str) -> str:
    rows: list[dict[str, Any]] = [json.loads(line) for line in path.read_bytes().splitlines()]
    return next(
        str(row["uuid"])
        for row in rows
        if row.get("type") == "assistant"
        and f"reply to: {prompt}" in json.dumps(row["message"]["content"])
    )


@pytest.mark.parametrize("rewound_to", ["two", "four"], ids=["before-take-over", "after-it"])
def test_real_client_rewind_after_a_take_over_is_left_as_the_user_made_it(
    claude: ClaudeDriver,
    fake_api: FakeMessagesApi,
    make_home: MakeHome,
    project_cwd: Path,
    rewound_to: str,
) -> None:
    home = make_home("beta")
    session = claude.new(home, project_cwd, "one").session_id
    for prompt in ("two", "three"):
        claude.resume(home, project_cwd, session, prompt)
    path = home.session_file(project_cwd, session)
    assert mark_fork_point(path, session, "BETA") is not None  # what `roam cr --force` writes
    for prompt in ("four", "five"):
        claude.resume(home, project_cwd, session, prompt)
    at = _reply_to(path, rewound_to)
    claude.run(home, project_cwd, "edited", resume=session, extra_args=["--resume-session-at", at])
    made = path.read_bytes()
    result = merge_session(find_session_files(path.parent, session))
    assert (file_has_fork(path), result.status, path.read_bytes()) == (False, "nothing-to-do", made)
    mark = fake_api.mark()
    claude.resume(home, project_cwd, session, "after")
    users = conversation_of(fake_api.turns_since(mark)[0].messages).user_texts
    assert users[-2:] == ["edited", "after"]
    assert "five" not in users
