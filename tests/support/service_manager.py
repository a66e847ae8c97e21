"""A stand-in ``systemctl`` with a user instance, for ``pytest_plugins``.

It keeps the state of the units it was asked to enable and start in a folder of the test's
own, and logs every call; nothing reaches the developer's service manager. It knows only the
`roam watch` unit: asked about any other (Syncthing's), it has none. ``fail`` makes the
calls whose arguments contain a word fail as a broken user manager would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.setup.watch_service import SYSTEMD_UNIT

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["FakeSystemctl", "fake_systemctl"]

_SCRIPT = """#!/bin/sh
echo "$@" >> "{log}"
for word in $(cat "{fail}"); do
  case " $* " in *" $word "*) echo "Failed to $word: Unit failed" >&2; exit 1;; esac
done
state="{state}"
case " $* " in *" {unit} "*|*" show-environment "*|*" daemon-reload "*) ;;
  *) echo "Unit not found." >&2; exit 1;;
esac
case "$2" in
  show-environment) echo "HOME=$HOME";;
  daemon-reload) ;;
  enable) touch "$state/enabled" "$state/active";;
  disable) rm -f "$state/enabled" "$state/active";;
  is-enabled) if [ -e "$state/enabled" ]; then echo enabled; else echo disabled; exit 1; fi;;
  is-active) if [ -e "$state/active" ]; then echo active; else echo inactive; exit 3; fi;;
  *) ;;
esac
"""


@dataclass(frozen=True, slots=True)
class FakeSystemctl:
    log: Path
    failing: Path
    state: Path

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def fail(self, *words: str) -> None:
        """From now on, a call naming any of ``words`` (``show-environment``, ``enable``) fails."""
        self.failing.write_text(" ".join(words))

    def stop(self) -> None:
        """The unit stops (as after a crash): enabled still, not active."""
        (self.state / "active").unlink(missing_ok=True)


@pytest.fixture
def fake_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemctl:
    """A working ``systemctl --user`` on PATH, ahead of every other one."""
    root = tmp_path / "fake-systemctl"
    tools = root / "bin"
    state = root / "state"
    tools.mkdir(parents=True)
    state.mkdir()
    fake = FakeSystemctl(root / "calls.log", root / "failing", state)
    fake.log.touch()
    fake.failing.touch()
    script = tools / "systemctl"
    script.write_text(
        _SCRIPT.format(log=fake.log, fail=fake.failing, state=state, unit=SYSTEMD_UNIT)
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    return fake
