"""``roam ls --json`` without filters: the summary cache's rows straight to JSON text.

The common case at 50,000 sessions, and the one a script calls: both the typer command
(``cli.sessions.ls``) and the start-up fast path (``cli.fast_ls``) run ``ls_json``, so its
output, warnings and errors are one. Nothing here imports typer, nor rich unless there is
something to say on stderr.
"""

from __future__ import annotations

import sys
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

    from session_roam.cli.context import Settings

__all__ = ["cluster_notice", "ls_json", "warn_unreadable_file", "write_json_array"]

_BATCH: Final = 1000


def cluster_notice(settings: Settings, config: Path, *, all_projects: bool) -> None:
    """The cluster's state, said on stderr when a list may lack what a peer has not sent."""
    from session_roam.engine.core import project_dir_for
    from session_roam.engine.resume import cluster_state

    cluster = cluster_state(
        settings.claude_dir, None if all_projects else project_dir_for(Path.cwd(), config)
    )
    if cluster is not None and (notice := cluster.notice()):
        from session_roam.cli.output import err_console  # rich: only when there is a note

        err_console().print(f"note: {notice}", markup=False)


def ls_json(settings: Settings, *, all_projects: bool, sort: str, limit: int | None) -> None:
    """Every session of this directory (of every project with ``all_projects``) as one JSON
    array in ``sort`` order, ``limit`` at most; a warning on stderr per unreadable file."""
    from session_roam.engine.core import claude_config_dir, xdg
    from session_roam.engine.sessions import lease_facts, load_pathmap, stream_json_texts

    config = claude_config_dir(settings.claude_dir)
    pathmap = load_pathmap(xdg.config_dir())
    cluster_notice(settings, config, all_projects=all_projects)
    here = None if all_projects else Path.cwd()
    bad: list[tuple[str, str]] = []
    facts = lease_facts(settings.claude_dir)
    texts = stream_json_texts(config, pathmap, facts, cwd=here, sort=sort, unreadable=bad)
    write_json_array(islice(texts, limit) if limit else texts)
    for path, why in bad:
        warn_unreadable_file(path, why)


def warn_unreadable_file(path: str, why: str) -> None:
    """One line naming a session file that could not be read, and the fix."""
    from session_roam.cli.output import err_console, plain  # rich: only when there is one

    err_console().print(
        f"warning: cannot read {plain(path)} ({why}); give your user read access to it to "
        "see its turns and search it.",
        markup=False,
    )


def write_json_array(texts: Iterable[str], out: IO[str] | None = None) -> None:
    """One JSON array of these JSON texts, written a batch at a time.

    Nothing is written before the first batch is complete: a failure while the first rows are
    read (an unreadable cache, a bug) leaves stdout empty, so the error boundary's document is
    the only one there.
    """
    out = out or sys.stdout
    first = True
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == _BATCH:
            out.write(("[" if first else ",") + ",".join(batch))
            first, batch = False, []
    if batch or first:
        out.write(("[" if first else ",") + ",".join(batch))
    out.write("]\n")
    out.flush()
