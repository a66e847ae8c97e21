"""A granted lease: renews itself in a thread, and lets go with the session file's final bytes.

``acquire`` (``lease.api``) wins the claim; this is what it hands back. The lease renews its claim
every third of its time to live, notices when somebody stole it (``roam lease steal``) and stops,
and on release records the session file's size and sha256 (the release stamp the next writer
waits for), publishes, and unlocks, also when the process is ended by SIGTERM or SIGHUP.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from session_roam.engine.core.safefs import LinkRefused
from session_roam.engine.lease.handover import holder_label
from session_roam.engine.lease.model import Claim, ClaimState, ClaimView, ReleaseStamp
from session_roam.engine.lease.protocol import overtaken_by
from session_roam.engine.lease.stamp import file_stamp
from session_roam.errors import PeerUnreachable, SyncthingError, SyncTimeout

if TYPE_CHECKING:
    from types import FrameType, TracebackType

    from session_roam.engine.lease.engine import LeaseEngine

__all__ = ["RELEASE_WAIT_S", "Lease", "now_iso"]

log = logging.getLogger(__name__)

#: How long a release waits for peers to confirm the stamp before leaving it to Syncthing.
RELEASE_WAIT_S: Final = 10.0
_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)


class Lease:
    """A granted lease: renews itself in a thread and releases with a stamp on ``release()``.

    ``overtaken`` becomes the thief's claim view when somebody ran ``roam lease steal`` on us;
    renewing then stops and a warning is logged: this machine must stop writing.
    """

    def __init__(
        self,
        engine: LeaseEngine,
        claim: Claim,
        lock_fd: int,
        session_file: Path | None,
        *,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self._owns_engine = owns_engine
        self.claim = claim
        self.session_file = session_file
        self.overtaken: ClaimView | None = None
        #: Why this grant stands without a majority ("alpha is offline; it released ...").
        self.notes: tuple[str, ...] = ()
        self._lock_fd = lock_fd
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._released = False
        self._thread = threading.Thread(
            target=self._renew_loop, name=f"lease-renew-{claim.session[:8]}", daemon=True
        )
        self._old_handlers: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"Lease({self.claim.session!r}, ticket={self.claim.ticket})"

    @property
    def session(self) -> str:
        return self.claim.session

    def start(self) -> Lease:
        self._thread.start()
        return self

    def renew(self) -> None:
        """Rewrite our claim with counter+1 so every reader sees it change; check for a steal."""
        with self._mutex:
            if self._released or self.overtaken is not None:
                return
            thief = overtaken_by(self.claim, self.engine.views(self.session))
            if thief is not None:
                self.overtaken = thief
                log.warning(
                    "Session %s was taken over by %s (roam lease steal); stop writing it here.",
                    self.session,
                    holder_label(thief),
                )
                return
            self.claim = self.claim.bump()
            self.engine.transport.write_claim(self.claim)
            self.engine.transport.publish(self.claim, wait_for=(), timeout_s=0)

    def _renew_loop(self) -> None:
        period = self.claim.ttl_s / 3
        while not self._stop.wait(period):
            try:
                self.renew()
            except (SyncthingError, OSError, LinkRefused) as exc:  # a link planted meanwhile
                log.warning(
                    "Could not renew the lease on %s (%s); other machines may take the session "
                    "over %g s after the last renewal.",
                    self.session,
                    exc,
                    self.claim.ttl_s,
                )

    def release(self, *, stamp: bool = True) -> None:
        """Stop renewing, record the session file's final bytes, publish, and let go. Idempotent."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        with self._mutex:
            if self._released:
                return
            self._released = True
            try:
                final = file_stamp(self.session_file) if stamp and self.session_file else None
                if final is not None:
                    final = ReleaseStamp(final.size, final.sha256, self.claim.ticket)
                self.claim = self.claim.bump(
                    state=ClaimState.RELEASED,
                    release=final or self.claim.release,
                    since=now_iso(),  # "released at": what the next writer is told
                )
                transport = self.engine.transport
                transport.write_claim(self.claim)
                extra: tuple[str, ...] = ()
                if final is not None and self.session_file is not None:
                    extra = (_relative(self.session_file, transport),)
                    # the sibling folder (companions carried there at exit, engine.travel) too
                    sibling = self.session_file.with_suffix("")
                    extra += (_relative(sibling, transport),) if sibling.is_dir() else ()

                def connected() -> list[str]:  # asked once the release is on its way to them
                    return [p.device_id for p in transport.peers() if p.connected]

                try:
                    transport.publish(
                        self.claim, wait_for=connected, timeout_s=RELEASE_WAIT_S, extra=extra
                    )
                except (SyncTimeout, PeerUnreachable) as exc:
                    log.warning(
                        "Released %s; peers will get it when they can (%s)", self.session, exc
                    )
            finally:
                self.engine.locks.unlock(self._lock_fd)
                if self._owns_engine:
                    self.engine.close()

    def __enter__(self) -> Lease:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                if signal.getsignal(signum) in (signal.SIG_DFL, None):
                    self._old_handlers[signum] = signal.signal(signum, _exit_on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.release()
        finally:
            for signum, handler in self._old_handlers.items():
                signal.signal(signum, handler)


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM/SIGHUP into SystemExit so the with-block releases the lease on the way out.
    raise SystemExit(128 + signum)


def _relative(path: Path, transport: Any) -> str:
    root = Path(os.path.realpath(transport.root))
    return Path(os.path.realpath(path)).relative_to(root).as_posix()


def now_iso() -> str:
    """Now, as a claim records it (UTC, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
