"""Which boot of this machine this is: a reading taken before a reboot must not be compared."""

from __future__ import annotations

__all__ = ["boot_id"]


def boot_id() -> str:
    """This boot's id (Linux's ``/proc/sys/kernel/random/boot_id``), or "" where there is none.

    The lease's monotonic readings and a search index's unsynced first build are both named
    by it: neither may be trusted across a restart."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""
