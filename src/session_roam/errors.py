"""Every foreseeable failure in session-roam is one of these.

The CLI catches ``RoamError`` in exactly one place (``cli.app.RoamGroup.invoke``), prints the
message and the hint, and exits with the class's code. Anything else that escapes is a bug and
is allowed to crash loudly.

Exception tree and exit codes (scripts branch on these, so they never change meaning)::

    RoamError                    exit 1  base; never raised directly
      InvalidInput               exit 2  bad session/device id, path outside projects/
        SessionNotFound          exit 2  no session matches what was asked for
      SetupError                 exit 3  a required program or configuration is missing
        SyncthingMissing         exit 3  the syncthing binary is not installed
        ClaudeMissing            exit 3  the claude binary is not installed
        SyncthingConfigMissing   exit 3  no Syncthing config.xml was found
      SyncthingError             exit 4  Syncthing did not do what we asked
        SyncthingUnreachable     exit 4  nothing answers on the REST address
        ApiKeyRejected           exit 4  Syncthing refused our API key
        PeerUnreachable          exit 4  a peer we must hear from is not connected
        SyncTimeout              exit 4  a bounded wait for the cluster ran out
      LeaseHeld                  exit 5  another node is writing this session
        HolderOffline            exit 5  its last holder is off and never released it
      MergeError                 exit 6  could not reconcile; originals kept aside
        MergeRaced               exit 6  a file changed while it was merged; nothing was changed
      NoMatch                    exit 8  ``roam cf`` found no session that matches
    VerifyFailed (a result)      exit 7  ``roam verify`` found failures (advice never exits 7)
    claude's own status          exit 9  claude ended with a non-zero status (``roam cr``, ``cn``
                                         and friends print it: "claude exited with status N")
    usage errors (click)         exit 2  the same code as InvalidInput: the command line is wrong
    stopped by signal N          exit 128+N  roam itself was interrupted (130 for Ctrl-C)

Code 1 means a bug and nothing else. claude's own exit status is never passed through as
roam's, because claude's codes would collide with these: a launcher exits 0 when claude
exited 0 and 9 otherwise, and the status itself is on stderr (``claude_exit_code``).

Messages are one plain sentence about what went wrong; ``hint`` says what to run next. Neither
ever contains an API key: the client that holds a key never formats it into anything.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

__all__ = [
    "ApiKeyRejected",
    "ClaudeMissing",
    "ExitCode",
    "HeldElsewhere",
    "HolderOffline",
    "InvalidInput",
    "LeaseHeld",
    "MergeError",
    "MergeRaced",
    "NoMatch",
    "PeerUnreachable",
    "RoamError",
    "SessionNotFound",
    "SetupError",
    "SyncTimeout",
    "SyncthingConfigMissing",
    "SyncthingError",
    "SyncthingMissing",
    "SyncthingUnreachable",
    "claude_exit_code",
]


class ExitCode(enum.IntEnum):
    """Process exit codes. Each error class has its own so that scripts can branch."""

    OK = 0
    FAILURE = 1
    INVALID_INPUT = 2
    SETUP = 3
    SYNCTHING = 4
    LEASE_HELD = 5
    MERGE = 6
    VERIFY_FAILED = 7
    NO_MATCH = 8
    CLAUDE_EXITED = 9


class RoamError(Exception):
    """Base of every error a user can be shown. Never raised directly."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE
    default_hint: ClassVar[str] = "Run the command again with --verbose for details."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        #: Further fields of the ``roam.error/1`` envelope (documented in its schema).
        self.details: dict[str, Any] = {}

    def __str__(self) -> str:
        return self.message


class InvalidInput(RoamError):
    """The user gave something we cannot use as it is (an id, a path, a name)."""

    exit_code = ExitCode.INVALID_INPUT
    default_hint = "Check the value and run the command again; --help shows what is accepted."


class SessionNotFound(InvalidInput):
    """No session matches the id, name or prefix that was asked for."""

    default_hint = "Run `roam conflicts list` or `roam ls` to see the sessions there are."


class SetupError(RoamError):
    """Something this machine needs is not installed or not configured."""

    exit_code = ExitCode.SETUP
    default_hint = "Run `roam setup` to configure this machine."


class SyncthingMissing(SetupError):
    default_hint = "Install it with `sudo apt-get install syncthing` (or `brew install syncthing`)."


class ClaudeMissing(SetupError):
    default_hint = (
        "Install Claude Code (`npm install -g @anthropic-ai/claude-code`) "
        "or point ROAM_CLAUDE_BIN at the claude binary."
    )


class SyncthingConfigMissing(SetupError):
    default_hint = (
        "Run `roam setup`, or set ROAM_SYNCTHING_HOME to Syncthing's config folder "
        "(commands that take --syncthing-home accept it there too)."
    )


class SyncthingError(RoamError):
    """Syncthing is there but did not do what we asked."""

    exit_code = ExitCode.SYNCTHING
    default_hint = "Check that Syncthing is running (`roam status`)."


class SyncthingUnreachable(SyncthingError):
    default_hint = (
        "Start Syncthing (`roam setup` starts it) or check its GUI address in config.xml."
    )


class ApiKeyRejected(SyncthingError):
    default_hint = (
        "Unset STGUIAPIKEY so roam reads the key from Syncthing's own config.xml, "
        "or pass --syncthing-home pointing at that config."
    )


class PeerUnreachable(SyncthingError):
    default_hint = "Bring the peer online, or pass --force to go ahead without it."


class SyncTimeout(SyncthingError):
    default_hint = "Check `roam status` for peers that are not syncing, then try again."


class LeaseHeld(RoamError):
    """Another node holds the lease on this session."""

    exit_code = ExitCode.LEASE_HELD
    default_hint = (
        "Finish the session there first, or take it over with `roam lease steal SESSION`."
    )


class HeldElsewhere(LeaseHeld):
    """A connected machine holds the session (or is next for it): ``roam cr --wait`` can queue
    behind it, and on a terminal ``roam cr`` offers to."""


class HolderOffline(LeaseHeld):
    """The session's last holder is not connected and never released it: its last turn may
    exist only there, so nobody can know whether the copy here is complete."""

    default_hint = (
        "Bring that machine online and try again, or continue the copy here with "
        "`roam cr --force SESSION` (recorded; its later turns are merged when it returns)."
    )


class MergeError(RoamError):
    """The versions of a session could not be reconciled; nothing was changed."""

    exit_code = ExitCode.MERGE
    default_hint = "The originals are untouched; report this with `roam conflicts show SESSION`."


class MergeRaced(MergeError):
    """Syncthing changed or delivered a file of the session while roam merged it, so nothing
    was changed: the same merge, tried again once Syncthing settles, normally succeeds
    (``roam watch`` retries it by itself, a bounded number of times)."""

    default_hint = "Wait for Syncthing to settle, then run `roam conflicts merge` again."


class NoMatch(RoamError):
    """A search found nothing: not a failure of roam, but a script must tell it from a hit."""

    exit_code = ExitCode.NO_MATCH
    default_hint = 'Try fewer or other words (FTS5: "a phrase", OR, NOT, prefix*).'


def claude_exit_code(status: int) -> int:
    """roam's exit code after claude ended with ``status`` (shell convention, 128+N for a
    signal): 0 for 0, else ``CLAUDE_EXITED``, so that no claude status reads as one of roam's."""
    return int(ExitCode.OK) if status == 0 else int(ExitCode.CLAUDE_EXITED)
