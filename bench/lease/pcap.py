"""Read a ``tcpdump -w`` capture of a pair's sync connection (``bench.lease.stall --pcap``).

No dependency: a pcap file (micro or nanosecond), Ethernet frames (Linux ``lo``), IPv4, TCP.
Each segment is printed with its time, sender (alpha or beta, by the pair's listen ports), TCP
flags, payload size, ACK number (relative) and the TLS records that start in it (type and
length, as far as the snapshot holds them).

    .venv/bin/python -m bench.lease.pcap DIR/NAME-N.pcap [--from EPOCH --to EPOCH]
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

_NANO: Final = 0xA1B23C4D
_MICRO: Final = 0xA1B2C3D4
_FLAGS: Final = "FSRPAUEC"
#: A Syncthing debug line (``STTRACE=protocol``): local time, then what it wrote.
_LOGGED: Final = re.compile(
    r"^\[\w+\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)(\.\d+) \S+ DEBUG: (Writing .*|wrote \d+ bytes)"
)


@dataclass(frozen=True, slots=True)
class Segment:
    time: float
    sport: int
    dport: int
    flags: str
    seq: int
    ack: int
    size: int
    records: tuple[tuple[int, int], ...]  # (TLS content type, length) starting in this segment


def _records(payload: bytes) -> tuple[tuple[int, int], ...]:
    """TLS records whose headers start in ``payload`` (assumed to start on a record)."""
    found: list[tuple[int, int]] = []
    at = 0
    while at + 5 <= len(payload) and payload[at] in (20, 21, 22, 23):
        kind, length = payload[at], int.from_bytes(payload[at + 3 : at + 5], "big")
        found.append((kind, length))
        at += 5 + length
    return tuple(found)


def segments(path: Path) -> Iterator[Segment]:
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    scale = 1e-9 if magic == _NANO else 1e-6
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack("<IIII", data[at : at + 16])
        frame = data[at + 16 : at + 16 + caplen]
        at += 16 + caplen
        ip = frame[14:]
        if len(ip) < 20 or ip[9] != 6:
            continue
        ihl = (ip[0] & 0x0F) * 4
        total = int.from_bytes(ip[2:4], "big")
        tcp = ip[ihl:]
        sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
        offset = (tcp[12] >> 4) * 4
        flags = "".join(c for i, c in enumerate(_FLAGS) if tcp[13] >> i & 1)
        size = total - ihl - offset
        records = _records(tcp[offset:]) if size else ()
        yield Segment(sec + frac * scale, sport, dport, flags, seq, ack, size, records)


def describe(segs: list[Segment], ports: tuple[int, int], zero: float) -> Iterator[str]:
    """One line per segment: ms after ``zero``, gap to the previous, sender, what it carries."""
    names = {ports[0]: "alpha", ports[1]: "beta"}
    base: dict[int, int] = {}
    last = None
    for s in segs:
        sender = names.get(s.sport) or ("beta" if names.get(s.dport) == "alpha" else "alpha")
        base.setdefault(s.sport, s.seq)
        peer_base = base.get(s.dport, s.ack)
        gap = "" if last is None else f"+{(s.time - last) * 1000:6.2f}"
        last = s.time
        tls = " ".join(f"{'CAHD'[k - 20]}{n}" for k, n in s.records)
        yield (
            f"{(s.time - zero) * 1000:8.2f} ms {gap:>8s} {sender:5s} -> {s.flags:4s} "
            f"len {s.size:5d} ack {s.ack - peer_base:8d} seq {s.seq - base[s.sport]:8d} {tls}"
        )


def writes(log: Path, name: str) -> list[tuple[float, str]]:
    """What the node's Syncthing wrote on its connections, with epoch times (``STTRACE=protocol``;
    Syncthing logs the local time)."""
    found: list[tuple[float, str]] = []
    if not log.exists():
        return found
    for line in log.read_text(errors="replace").splitlines():
        if match := _LOGGED.match(line):
            stamp = time.mktime(time.strptime(match[1], "%Y/%m/%d %H:%M:%S")) + float(match[2])
            found.append((stamp, f"{name}: {match[3]}"))
    return found


def stalls(pcap: Path, found: dict[str, Any], over_ms: float, limit: int) -> list[str]:
    """The segments of the first ``limit`` stalled rounds (their scan to their barrier's end)."""
    segs = list(segments(pcap))
    ports = tuple(found["ports"])
    lines: list[str] = []
    for number, round_ in enumerate(found["rounds"]):
        mark = round_["barriers"][0]
        if (mark["end"] - mark["scan_end"]) * 1000 <= over_ms or limit <= 0:
            continue
        limit -= 1
        lines.append(f"round {number}: scan {mark['scan_start']:.6f}, 0 = the scan's answer")
        window = [s for s in segs if mark["scan_start"] - 0.002 <= s.time <= mark["end"]]
        logged = [
            (t, f"{(t - mark['scan_end']) * 1000:8.2f} ms          log {what}")
            for t, what in sorted(
                w
                for n in ("alpha", "beta")
                for w in writes(pcap.with_suffix(f".{n}.log"), n)
                if mark["scan_start"] - 0.002 <= w[0] <= mark["end"]
            )
        ]
        wire = list(
            zip((s.time for s in window), describe(window, ports, mark["scan_end"]), strict=True)
        )
        lines.extend(line for _, line in sorted(wire + logged))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("pcap", type=Path)
    parser.add_argument("--from", dest="start", type=float, default=0.0, help="epoch seconds")
    parser.add_argument("--to", dest="end", type=float, default=1e12, help="epoch seconds")
    args = parser.parse_args()
    found = json.loads(args.pcap.with_suffix(".json").read_text())
    segs = [s for s in segments(args.pcap) if args.start <= s.time <= args.end]
    if segs:
        for line in describe(segs, tuple(found["ports"]), segs[0].time):
            print(line)


if __name__ == "__main__":
    main()
