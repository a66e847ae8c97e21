"""Run a bench in a private network namespace whose loopback has a LAN's MTU (``--mtu 1500``).

On 127.0.0.1 (MTU 65,536) Syncthing pays a delay no LAN does: it turns Nagle's algorithm on
for its TCP connections (``SetNoDelay(false)``, lib/dialer/public.go, 1.19.2 and 1.29.5), TLS
cuts a block of more than 16 KiB into two records, and the second waits for the ACK of the
first, which the receiving kernel holds back 40 ms (delayed ACK) because on loopback the first
record is less than two full segments. On Ethernet the same record is 11 segments, acknowledged
at once. So a peer pulling a changed session file confirms it ~40 ms later on loopback than on
a LAN (``bench.cr.peer_pull``), and ``roam cr``'s release and the hand-over pay it. ``--mtu``
re-runs the bench under ``unshare -n`` (``-rn`` when not root) with that MTU on its own ``lo``,
leaving the machine's network alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Final

__all__ = ["in_namespace"]

_MARK: Final = "ROAM_BENCH_NETNS"


def in_namespace(module: str, mtu: int | None) -> None:
    """Run ``python -m module`` with the same arguments in a namespace whose loopback has
    ``mtu``, and exit with its code; return at once when ``mtu`` is None or when this is that
    process already."""
    if mtu is None or os.environ.get(_MARK):
        if mtu is not None:
            print(f"network: a private namespace, loopback MTU {mtu}")
        return
    os.environ[_MARK] = str(mtu)
    flags = "-n" if os.geteuid() == 0 else "-rn"
    script = f'ip link set lo up && ip link set lo mtu {int(mtu)} && exec "$@"'
    argv = [sys.executable, "-m", module, *sys.argv[1:]]
    done = subprocess.run(["unshare", flags, "sh", "-c", script, "sh", *argv], check=False)
    raise SystemExit(done.returncode)
