"""Realistic Claude Code 2.1.331 session rows for `roam demo` and benchmarks.

The rows have the shape the real client writes (field names and order, split assistant rows
sharing ``message.id``, a Bash ``tool_use`` answered by a ``tool_result`` row, one
``last-prompt`` checkpoint per turn), so the demo exercises the same merge a real session gets.
Ids come from a seeded generator so a run can be reproduced.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["SessionWriter"]

_VERSION: Final = "2.1.331"
_MODEL: Final = "claude-opus-5-5"


def _stamp(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass(slots=True)
class SessionWriter:
    """Builds the lines of one session, turn by turn, the way Claude Code appends them.

    ``leaf`` is the uuid the next user row hangs off; a copy of the writer made with ``fork``
    continues the same session independently, as a second machine would.
    """

    session_id: str
    cwd: str
    seed: int = 0
    leaf: str | None = None
    clock: datetime = field(default_factory=lambda: datetime.now(UTC))
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.session_id}:{self.seed}")  # noqa: S311 - ids, not secrets

    def fork(self, seed: int) -> SessionWriter:
        """The same session continued elsewhere from the same leaf, with its own ids."""
        return SessionWriter(self.session_id, self.cwd, seed=seed, leaf=self.leaf, clock=self.clock)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _token(self, prefix: str) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
        return prefix + "".join(self._rng.choice(alphabet) for _ in range(24))

    def _tick(self, millis: int) -> str:
        self.clock += timedelta(milliseconds=millis)
        return _stamp(self.clock)

    def _row(self, kind: str, body: dict[str, Any], millis: int) -> dict[str, Any]:
        row_uuid = self._uuid()
        row: dict[str, Any] = {"parentUuid": self.leaf, "isSidechain": False, "type": kind}
        row.update(body)
        row.update(
            {
                "uuid": row_uuid,
                "timestamp": self._tick(millis),
                "userType": "external",
                "entrypoint": "cli",
                "cwd": self.cwd,
                "sessionId": self.session_id,
                "version": _VERSION,
                "gitBranch": "main",
            }
        )
        self.leaf = row_uuid
        return row

    def _assistant(self, message_id: str, block: dict[str, Any], stop: str) -> dict[str, Any]:
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": _MODEL,
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 812, "output_tokens": 64},
        }
        return self._row("assistant", {"message": message, "requestId": self._token("req_")}, 900)

    def turn(self, prompt: str, reply: str, *, command: str | None = None) -> list[bytes]:
        """One user prompt and the model's answer; with ``command`` the answer runs Bash first."""
        rows: list[dict[str, Any]] = [
            {
                "type": "queue-operation",
                "operation": "enqueue",
                "timestamp": _stamp(self.clock),
                "sessionId": self.session_id,
                "content": prompt,
            },
            self._row("user", {"message": {"role": "user", "content": prompt}}, 40),
        ]
        message_id = self._token("msg_01")
        if command is not None:
            rows.append(
                self._assistant(message_id, {"type": "text", "text": "Let me check."}, "tool_use")
            )
            tool_id = self._token("toolu_01")
            tool_use = {
                "type": "tool_use",
                "id": tool_id,
                "name": "Bash",
                "input": {"command": command, "description": "Run the check"},
            }
            holder = self._assistant(message_id, tool_use, "tool_use")
            rows.append(holder)
            output = f"{command.removeprefix('echo ').strip()}"
            result = {
                "role": "user",
                "content": [
                    {
                        "tool_use_id": tool_id,
                        "type": "tool_result",
                        "content": output,
                        "is_error": False,
                    }
                ],
            }
            rows.append(
                self._row(
                    "user",
                    {
                        "message": result,
                        "sourceToolAssistantUUID": holder["uuid"],
                        "toolUseResult": {"stdout": output, "stderr": "", "interrupted": False},
                    },
                    120,
                )
            )
            message_id = self._token("msg_01")
        rows.append(self._assistant(message_id, {"type": "text", "text": reply}, "end_turn"))
        rows.append(
            {
                "type": "last-prompt",
                "lastPrompt": prompt,
                "leafUuid": self.leaf,
                "sessionId": self.session_id,
            }
        )
        return [json.dumps(row, separators=(",", ":")).encode() + b"\n" for row in rows]
