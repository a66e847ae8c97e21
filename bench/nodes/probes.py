"""What ``bench.nodes.run`` watches: processes' memory and CPU, files arriving on nodes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from session_roam.engine.syncthing.cluster import ClusterNode


def known_on(node: ClusterNode, folder: str, relative: str, peers: set[str]) -> bool:
    info = node.client.file_info(folder, relative)
    return info is not None and peers <= set(info.availability)


def group_cpu_s(groups: set[int]) -> float:
    """CPU seconds used so far by every process in ``groups`` (process group ids)."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _entry, fields in _in_groups(groups))
    return ticks / os.sysconf("SC_CLK_TCK")


def everywhere(copies: list[Path], size: int) -> bool:
    return all(size_of(copy) >= size for copy in copies)


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # Syncthing replaces the file: it briefly disappears
        return -1


def group_rss_mb(pids: Sequence[int]) -> float:
    """Resident memory of every process in the process groups of ``pids`` (Syncthing's monitor
    and its child), in MB."""
    total_kb = 0
    for entry, _fields in _in_groups(set(pids)):
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def _in_groups(groups: set[int]) -> Iterator[tuple[Path, list[str]]]:
    """Each process in one of ``groups``: its /proc folder and the fields of its stat after
    the command name (``fields[2]`` is the group, ``[11]``/``[12]`` user and system ticks)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) in groups:
            yield entry, fields
