"""The one place that knows which Syncthing roam runs, and what that version wants.

Users run Syncthing 1.19 (Debian 12), 1.27 (Ubuntu 24.04), 1.29 (Debian 13) and 2.x (macOS,
NixOS, upstream). Their command lines and configs differ (facts from Syncthing's source at each
tag: cmd/syncthing/main.go, cmd/syncthing/generate, lib/config/config.go):

- 2.x rejects single-dash long flags, dropped ``generate --no-default-folder`` (the
  ``STNODEFAULTFOLDER`` variable stays) and renamed ``--skip-port-probing`` ``--no-port-probing``.
- Each release reads configs up to its own config version and refuses newer ones ("config file
  version (37) is newer than supported version (36)"). Starting an older binary on a home a
  newer one wrote is therefore refused here, with the binary to use named, before Syncthing
  fails in a log nobody reads.
- 2.x waits ``pullerDelayS`` (1 s by default) before every pull; roam's folder needs 0, or
  every hand-over and lease barrier pays a second.

Every command line roam builds for Syncthing comes from here, so a new version is one edit.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.syncthing.models import SyncthingVersion
from session_roam.errors import SetupError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "CONFIG_VERSIONS",
    "KNOWN_THROUGH",
    "OPTIONAL_FOLDER_SETTINGS",
    "binary_version",
    "check_can_read_config",
    "config_version",
    "generate_command",
    "optional_folder_drift",
    "readable_config_version",
    "serve_argv",
]

#: The config version each release line writes and reads (lib/config/config.go
#: ``CurrentVersion``), as (first release, config version): a release reads what the last entry
#: at or below it says.
CONFIG_VERSIONS: Final[tuple[tuple[SyncthingVersion, int], ...]] = (
    (SyncthingVersion(1, 12, 0), 32),
    (SyncthingVersion(1, 13, 0), 33),
    (SyncthingVersion(1, 14, 0), 35),
    (SyncthingVersion(1, 19, 1), 36),
    (SyncthingVersion(1, 22, 0), 37),
    (SyncthingVersion(2, 0, 0), 51),
    (SyncthingVersion(2, 1, 0), 52),
)
#: The newest release whose source the table above was read from; past it, roam cannot know.
KNOWN_THROUGH: Final = SyncthingVersion(2, 1, 3)
_VERSION_TIMEOUT_S: Final = 15.0
_CONFIG_VERSION_RE: Final = re.compile(rb"<configuration\b[^>]*\bversion=\"(\d+)\"")


def serve_argv(binary: str, home: Path) -> list[str]:
    """``syncthing serve`` for a roam-run node: the same double-dash flags in 1.x and 2.x."""
    return [binary, "serve", f"--home={home}", "--no-browser", "--no-restart", "--no-upgrade"]


def generate_command(
    binary: str, home: Path, version: SyncthingVersion | None
) -> tuple[list[str], dict[str, str]]:
    """``syncthing generate`` argv and the variables it needs: no default folder, no probing.

    2.x dropped ``--no-default-folder`` (``STNODEFAULTFOLDER=1`` does it in every version) and
    renamed ``--skip-port-probing``. An unknown version gets the 1.x spelling, which roam has
    run longest; the variable covers the default folder either way.
    """
    env = {"STNODEFAULTFOLDER": "1"}
    if version is not None and version.major >= 2:
        return [binary, "generate", f"--home={home}", "--no-port-probing"], env
    argv = [binary, "generate", f"--home={home}", "--no-default-folder", "--skip-port-probing"]
    return argv, env


#: Folder options only some versions have, and the value roam's folder needs. 2.x pauses
#: ``pullerDelayS`` (default 1 s) before each pull (lib/model/folder.go); 1.x has no such option.
OPTIONAL_FOLDER_SETTINGS: Final[Mapping[str, Any]] = {"pullerDelayS": 0}


def optional_folder_drift(current: Mapping[str, Any]) -> dict[str, Any]:
    """The version-specific options a folder lacks: only those its Syncthing has (the key is in
    the folder's REST config), so 1.x folders never drift and 2.x ones get ``pullerDelayS: 0``.
    Creating a folder may send them to any version: Syncthing's JSON decoding ignores keys it
    does not know."""
    return {
        key: value
        for key, value in OPTIONAL_FOLDER_SETTINGS.items()
        if key in current and current[key] != value
    }


@functools.cache
def binary_version(binary: str) -> SyncthingVersion | None:
    """The release of a syncthing binary, without starting a node (cached per process).

    ``--version`` in 1.x and from 2.0.3; 2.0.0-2.0.2 only have the ``version`` subcommand, so
    that is asked second. None when neither answers with a version.
    """
    for argv in ([binary, "--version"], [binary, "version"]):
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_VERSION_TIMEOUT_S,
                check=False,
                env={**os.environ, "STNOUPGRADE": "1"},
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode == 0 and (found := SyncthingVersion.parse(done.stdout)) is not None:
            return found
    return None


def readable_config_version(version: SyncthingVersion) -> int | None:
    """The newest config version ``version`` reads; None past ``KNOWN_THROUGH``'s line or
    before 1.12, where roam does not know and leaves the judgement to Syncthing."""
    if (version.major, version.minor) > (KNOWN_THROUGH.major, KNOWN_THROUGH.minor):
        return None
    found = None
    for first, config in CONFIG_VERSIONS:
        if version >= first:
            found = config
    return found


def config_version(home: Path) -> int | None:
    """The ``version`` attribute of ``home``'s config.xml; None when there is none (yet)."""
    try:
        with (home / "config.xml").open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    match = _CONFIG_VERSION_RE.search(head)
    return int(match.group(1)) if match else None


def _short(version: SyncthingVersion) -> str:
    return f"{version.major}.{version.minor}.{version.patch}"


def _first_release_reading(config: int) -> SyncthingVersion | None:
    return next((first for first, known in CONFIG_VERSIONS if known >= config), None)


def check_can_read_config(binary: str, home: Path) -> SyncthingVersion | None:
    """Refuse to start ``binary`` on a config newer than it reads; returns its version.

    Syncthing itself would exit with "config file version ... is newer than supported", into
    a log, after roam reported the service started; roam says it first, in one sentence.
    """
    version = binary_version(binary)
    written = config_version(home)
    readable = readable_config_version(version) if version is not None else None
    if version is None or written is None or readable is None or written <= readable:
        return version
    needed = _first_release_reading(written)
    newer = f"Syncthing {_short(needed)} or newer" if needed is not None else "a newer Syncthing"
    raise SetupError(
        f"Syncthing {_short(version)} ({binary}) cannot read the config in {home}, which a newer "
        f"Syncthing wrote (config version {written}); run it with {newer}.",
        hint=f"Point ROAM_SYNCTHING_BIN at {newer}'s syncthing binary, or put it first on PATH.",
    )
