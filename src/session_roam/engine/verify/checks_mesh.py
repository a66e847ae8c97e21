"""Whether the machines sharing the folder form the full mesh the lease needs (``leases``).

The lease counts a majority of the devices the folder is shared with, and its barrier waits
for the peers it is connected to (docs/design/lease.md, "Limits"). Both are only sound when
every machine shares the folder with the same devices: two machines counting different sets
may form majorities that do not overlap, and in a chain A-B-C, A's barrier cannot see whether
C has its claim. No machine can ask another's Syncthing, so each roam publishes its folder's
devices in its node file (``engine.nodeinfo``) and this check compares them with this machine's.

Untrusted always-on nodes run plain Syncthing and publish nothing; they still count in every
set. A node file without the field (an older roam) is "unknown" and passes silently; the
``versions`` dimension already asks for that node to be upgraded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from session_roam.engine.syncthing.nodeinfo import info_path
from session_roam.engine.verify.model import Finding, Status

if TYPE_CHECKING:
    from session_roam.engine.verify.model import Snapshot

__all__ = ["check_mesh"]

_NEED = "leases need every machine to share it with the same devices"


def check_mesh(snap: Snapshot) -> list[Finding]:
    """A warning per node that counts other devices than this machine, or is not its peer."""
    me = snap.service.device_id
    if snap.folder is None or not me:
        return []
    mine = frozenset({me, *(p.device_id for p in snap.peers if p.shares_folder)})
    sets = {me: mine}
    for device, node in snap.nodes.items():
        if device != me and node.info is not None and node.info.folder_devices is not None:
            sets[device] = frozenset(node.info.folder_devices)
    mesh = _Mesh(snap, sets)
    found: list[Finding] = []
    for device, node in sorted(snap.nodes.items()):
        if device == me or node.info is None:
            continue
        who = mesh.name(device)
        if device not in mine:
            path = info_path(Path(snap.projects_dir), device)
            found.append(
                Finding(
                    "leases",
                    Status.WARN,
                    f"{who} does not share the folder with this machine, yet its node file came "
                    f"here through another machine (a chain): a lease here cannot see whether "
                    f"{who} has its claim; {_NEED}.",
                    fix=mesh.fix([(me, device)], f"or, if {who} is gone for good: rm {path}"),
                    subject=device,
                )
            )
            continue
        theirs = sets.get(device)
        if theirs is None or theirs == mine:
            continue
        pairs = [(me, d) for d in sorted(theirs - mine)]
        pairs += [(device, d) for d in sorted(mine - theirs)]
        found.append(
            Finding(
                "leases",
                Status.WARN,
                f"{who} shares the folder with {mesh.names(theirs)}, this machine with "
                f"{mesh.names(mine)}: {_NEED}.",
                fix=mesh.fix(pairs),
                subject=device,
            )
        )
    return found


class _Mesh:
    """Names and pairing commands, from what this machine knows of every device."""

    def __init__(self, snap: Snapshot, sets: dict[str, frozenset[str]]) -> None:
        self._me = snap.service.device_id
        self._sets = sets
        self._untrusted = {p.device_id for p in snap.peers if p.untrusted}
        self._snap = snap

    def name(self, device: str) -> str:
        return self._snap.name_of(device)

    def names(self, devices: frozenset[str]) -> str:
        return "{" + ", ".join(sorted((self.name(d) for d in devices), key=str.casefold)) + "}"

    def fix(self, pairs: list[tuple[str, str]], note: str = "") -> str:
        """``roam peers add`` on each side of each missing pairing, this machine's first; a side
        that already shares with the other (as far as its node file says) is left out, and an
        untrusted node is paired from the trusted side only (it runs no roam)."""
        steps: dict[str, list[str]] = {}
        for a, b in pairs:
            for x, y in ((a, b), (b, a)):
                if x in self._untrusted or y in self._sets.get(x, frozenset()):
                    continue
                extra = " --untrusted --password-file FILE" if y in self._untrusted else ""
                command = f"roam peers add {y}{extra}"
                if command not in steps.setdefault(x, []):
                    steps[x].append(command)
        here = steps.pop(self._me, [])
        if not here and not steps:  # only untrusted sides: nothing roam can run
            return "roam peers list   # and pair the missing devices in Syncthing"
        there = [f"on {self.name(x)}: {' && '.join(c)}" for x, c in sorted(steps.items())]
        if not here and there:  # the first other machine's commands lead, named in the comment
            first, _, rest = there[0].partition(": ")
            here, there = [rest], [first, *(f"then {t}" for t in there[1:])]
        elif there:
            there[0] = f"then {there[0]}"
        comment = "; ".join([*there, note] if note else there)
        return " && ".join(here) + (f"   # {comment}" if comment else "")
