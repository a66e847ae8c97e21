"""A Syncthing home on disk without a running Syncthing, for tests of finding and starting it.

``write_st_config`` writes just the parts of ``config.xml`` roam reads (GUI address, API key,
folders); ``tests.support.st_home_fixtures`` builds machines from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from session_roam.engine.syncthing.cluster import free_ports

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["API_KEY", "FAILING_SYNCTHING", "write_st_config"]

API_KEY: Final = "Gk3rNg4irQouwoHRrRrTeSPbiebrecLu"
#: A stand-in for a syncthing binary that cannot start (a broken install, a bad config).
FAILING_SYNCTHING: Final = "#!/bin/sh\necho 'cannot start' >&2\nexit 1\n"


def write_st_config(home: Path, *, shares: Path | str | None, gui_port: int | None = None) -> Path:
    """A config.xml in ``home`` whose folder ``claude-projects`` shares ``shares`` (or none)."""
    home.mkdir(parents=True, exist_ok=True)
    port = gui_port if gui_port is not None else free_ports(1)[0]
    folder = f'<folder id="claude-projects" path="{shares}"></folder>' if shares else ""
    (home / "config.xml").write_text(
        f'<configuration version="37">{folder}'
        f'<gui enabled="true" tls="false"><address>127.0.0.1:{port}</address>'
        f"<apikey>{API_KEY}</apikey></gui><options></options></configuration>"
    )
    return home
