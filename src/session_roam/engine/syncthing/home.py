"""The Syncthing home ``roam setup`` used, remembered in roam's own ``config.toml``.

Syncthing keeps no note of a home given with ``--home``, so a machine set up with
``roam setup --syncthing-home X`` looked unconfigured to every later command not given X again,
and ``roam cr`` resumed without a lease (issue 13). Setup therefore writes the home it used as
``syncthing_home = "..."`` in ``$XDG_CONFIG_HOME/session-roam/config.toml`` and the resolver
(``stconfig.locate_syncthing_home``) reads it back. The file is the user's too (agent
namespaces live there): only that one line is replaced, every other line is kept as it was.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Final

from session_roam.engine.core import xdg
from session_roam.engine.core.atomic import atomic_write, make_private_dirs
from session_roam.engine.core.roamconfig import read_roam_config
from session_roam.errors import SetupError

__all__ = ["CONFIG_FILE", "HOME_KEY", "record_syncthing_home", "recorded_syncthing_home"]

log = logging.getLogger(__name__)

CONFIG_FILE: Final = "config.toml"
HOME_KEY: Final = "syncthing_home"
_KEY_LINE: Final = re.compile(rf"^\s*{HOME_KEY}\s*=")
_TABLE_LINE: Final = re.compile(r"^\s*\[")


def _config_path(config_dir: Path | None) -> Path:
    return (config_dir if config_dir is not None else xdg.config_dir_path()) / CONFIG_FILE


def recorded_syncthing_home(config_dir: Path | None = None) -> Path | None:
    """The home ``roam setup`` recorded, or None (no file, no key, or a value that is not an
    absolute path, which is logged and ignored rather than guessed at). A file that is not
    valid TOML is refused (``InvalidInput`` naming its line), never read as "nothing set"."""
    path = _config_path(config_dir)
    data = read_roam_config(path)  # a broken file is an error: it may hold other protections
    value = data.get(HOME_KEY)
    if value is None:
        return None
    if not isinstance(value, str) or not Path(value).is_absolute():
        log.warning("%s in %s is not an absolute path; ignoring it", HOME_KEY, path)
        return None
    return Path(value)


def record_syncthing_home(home: Path, config_dir: Path | None = None) -> bool:
    """Remember ``home`` (made absolute); False when it was already the recorded one.

    Top-level keys must come before any ``[table]``, so the line goes where the first key or
    table starts, after any leading comments. Raises SetupError when the existing file is not
    valid TOML: rewriting a file roam cannot read could lose the user's settings.
    """
    import tomllib  # roam setup's; roam cr only reads (core.roamconfig)

    home = Path(home).absolute()
    path = _config_path(config_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"roam's {path} cannot be read ({exc}).") from exc
    try:
        if tomllib.loads(text).get(HOME_KEY) == str(home):
            return False
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(
            f"roam's {path} is not valid TOML ({exc}), so the Syncthing home was not recorded.",
            hint=f"Fix that file, then run `roam setup --syncthing-home {home}` again.",
        ) from exc
    lines = _without_home_line(text.splitlines(keepends=True))
    at = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
        len(lines),
    )
    # JSON's string escapes are valid TOML basic-string escapes; non-ASCII stays literal.
    lines.insert(at, f"{HOME_KEY} = {json.dumps(str(home), ensure_ascii=False)}\n")
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    new_text = "".join(lines)
    if tomllib.loads(new_text).get(HOME_KEY) != str(home):  # pragma: no cover - a guard
        raise SetupError(f"Recording the Syncthing home would garble roam's {path}; not written.")
    make_private_dirs(path.parent)
    atomic_write(path, new_text.encode("utf-8"))
    return True


def _without_home_line(lines: list[str]) -> list[str]:
    """Every line but a top-level ``syncthing_home = ...`` (one under a ``[table]`` is kept)."""
    kept: list[str] = []
    in_table = False
    for line in lines:
        in_table = in_table or bool(_TABLE_LINE.match(line))
        if in_table or not _KEY_LINE.match(line):
            kept.append(line)
    return kept
