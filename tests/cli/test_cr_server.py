"""The cr server (cli.crserver, crchild, crclient, crwire): a ``roam cr`` served by a forked,
pre-imported process behaves as the same ``roam cr`` run in its own process, and anything in
doubt runs in its own process.

Here on a machine that does not sync (no Syncthing: no lease), with a stand-in claude; the
real cluster and the real client are tests/e2e/test_cr_served.py's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from session_roam.cli.crserver import EXIT_STALE
from session_roam.cli.crwire import PROTOCOL, Channel, package_dir, socket_path
from tests.support.cluster import wait_until
from tests.support.procs import processes_mentioning

if TYPE_CHECKING:
    from collections.abc import Iterator

SRC: Final = Path(__file__).resolve().parents[2] / "src" / "session_roam"

_STAND_IN: Final = """#!/usr/bin/env python3
import json, os, sys, time
mask = os.umask(0); os.umask(mask)
seen = {"argv": sys.argv[1:], "cwd": os.getcwd(), "umask": mask,
        "marker": os.environ.get("CR_MARKER"), "pid": os.getpid(), "ppid": os.getppid()}
with open(os.environ["STANDIN_LOG"], "a") as handle:
    handle.write(json.dumps(seen) + "\\n")
if os.environ.get("STANDIN_SLEEP"):
    time.sleep(float(os.environ["STANDIN_SLEEP"]))
sys.exit(int(os.environ.get("STANDIN_EXIT", "0")))
"""


@pytest.fixture(scope="module")
def runtime() -> Iterator[Path]:
    """A short ``XDG_RUNTIME_DIR`` (sun_path holds 107 bytes; pytest's tmp paths are long)."""
    folder = Path(tempfile.mkdtemp(prefix="roam-rt-"))
    try:
        yield folder
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def _start_server(runtime: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    process = subprocess.Popen(
        [sys.executable, "-m", "session_roam.cli.crserver"], env=env, start_new_session=True
    )
    path = Path(socket_path(env) or "")
    wait_until(path.exists, timeout_s=30, what="the cr server to listen")
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(runtime: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = _start_server(runtime)
    try:
        yield process
    finally:
        _stop(process)


@pytest.fixture
def machine(tmp_path: Path, runtime: Path) -> dict[str, str]:
    """The environment of ``roam`` on a machine that does not sync, with the stand-in claude."""
    home = tmp_path / "home"
    (home / ".claude" / "projects").mkdir(parents=True)
    claude = tmp_path / "bin" / "claude"
    claude.parent.mkdir()
    claude.write_text(_STAND_IN)
    claude.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "CLAUDE_", "ROAM_"))}
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        ROAM_CLAUDE_BIN=str(claude),
        STANDIN_LOG=str(tmp_path / "claude.log"),
        CR_MARKER="the client's",
        STHOMEDIR=str(tmp_path / "no-syncthing"),
    )
    (tmp_path / "proj").mkdir()
    return env


def _roam(
    args: list[str], env: dict[str, str], cwd: Path, **popen: object
) -> subprocess.Popen[str]:
    process: subprocess.Popen[str] = subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-m", "session_roam", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    return process


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int, str, str]:
    """``roam ARGS``: its pid, exit code, stdout and stderr."""
    process = _roam(args, env, cwd)
    out, err = process.communicate(timeout=60)
    return process.pid, process.returncode, out, err


def _journal_pids(env: dict[str, str]) -> set[int]:
    """The pids that journalled a launch on this machine: the process that ran ``roam cr``."""
    found: set[int] = set()
    for path in Path(env["XDG_STATE_HOME"], "session-roam", "journal").glob("*.events.jsonl"):
        for line in path.read_text().splitlines():
            note = json.loads(line)
            if note["event"] == "launch":
                found.add(int(note["pid"]))
    return found


def _claude_runs(env: dict[str, str]) -> list[dict[str, object]]:
    log = Path(env["STANDIN_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_served_cr_is_run_by_the_server_child_with_the_clients_cwd_env_and_umask(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    process = _roam(["cr", "--", "-p", "hi"], machine, tmp_path / "proj", umask=0o027)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    [run] = _claude_runs(machine)
    assert run["cwd"] == str((tmp_path / "proj").resolve())
    assert run["marker"] == "the client's"
    assert run["umask"] == 0o027
    assert run["ppid"] == process.pid  # claude is the client's child, in the terminal's group
    [launcher] = _journal_pids(machine)
    assert launcher != process.pid  # the lease and journal work was the server child's


def test_served_cr_passes_claudes_non_zero_status_as_roams_documented_code(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    machine["STANDIN_EXIT"] = "3"
    _pid, code, _out, err = _run(["cr"], machine, tmp_path / "proj")
    assert code == 9
    assert "roam: claude exited with status 3" in err


def test_served_cr_says_the_same_as_an_in_process_cr(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    served = _run(["cr", "--", "-p", "hi"], machine, tmp_path / "proj")[1:]
    local = _run(["cr", "--", "-p", "hi"], {**machine, "ROAM_CR_SERVER": "0"}, tmp_path / "proj")
    assert served == local[1:]


def test_cr_server_0_runs_cr_in_its_own_process(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    pid, code, _out, err = _run(["cr"], {**machine, "ROAM_CR_SERVER": "0"}, tmp_path / "proj")
    assert code == 0, err
    assert _journal_pids(machine) == {pid}


def test_cr_without_a_server_runs_in_its_own_process(
    machine: dict[str, str], tmp_path: Path
) -> None:
    empty = Path(tempfile.mkdtemp(prefix="roam-rt-"))
    pid, code, _out, err = _run(["cr"], {**machine, "XDG_RUNTIME_DIR": str(empty)}, tmp_path)
    assert code == 0, err
    assert _journal_pids(machine) == {pid}
    empty.rmdir()


def test_a_command_line_the_fast_path_does_not_take_is_not_served(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    _pid, code, out, _err = _run(["cr", "--help"], machine, tmp_path / "proj")
    assert code == 0
    assert "Usage" in out


def test_socket_is_the_users_alone(server: subprocess.Popen[bytes], runtime: Path) -> None:
    path = Path(socket_path({"XDG_RUNTIME_DIR": str(runtime)}) or "")
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(path.stat().st_mode)


def _hello(**changes: object) -> dict[str, object]:
    hello: dict[str, object] = {
        "t": "hello",
        "protocol": PROTOCOL,
        "package": package_dir(),
        "argv": ["cr"],
        "cwd": "/",
        "env": {},
        "umask": 0o22,
        "stdio": [],
    }
    return {**hello, **changes}


def _ask(runtime: Path, hello: dict[str, object]) -> dict[str, object] | None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(socket_path({"XDG_RUNTIME_DIR": str(runtime)}) or "")
        channel = Channel(sock)
        channel.send(hello, fds=[0, 1, 2])
        return channel.receive()[0]


@pytest.mark.parametrize(
    "changes",
    [
        {"protocol": PROTOCOL + 1},
        {"package": "/elsewhere/session_roam"},
        {"argv": ["cr", "--help"]},
    ],
    ids=["another protocol", "another install", "not a fast-path line"],
)
def test_server_leaves_to_the_client_what_it_must_not_serve(
    server: subprocess.Popen[bytes], runtime: Path, changes: dict[str, object]
) -> None:
    assert _ask(runtime, _hello(**changes)) == {"t": "not-mine"}


def test_child_runs_nothing_when_the_client_goes_before_its_go(
    server: subprocess.Popen[bytes], runtime: Path, machine: dict[str, str], tmp_path: Path
) -> None:
    answer = _ask(runtime, _hello(env=machine, cwd=str(tmp_path / "proj")))
    assert answer is not None
    assert answer["t"] == "ok"
    child = int(str(answer["pid"]))
    wait_until(lambda: not _alive(child), timeout_s=10, what="the child to end")
    assert _claude_runs(machine) == []
    assert _journal_pids(machine) == set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie is as good as gone
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    return True


def _while_claude_runs(
    machine: dict[str, str], cwd: Path, seconds: float
) -> tuple[subprocess.Popen[str], int]:
    """A served ``roam cr`` whose claude runs for ``seconds``: the client and the child's pid."""
    machine["STANDIN_SLEEP"] = str(seconds)
    process = _roam(["cr"], machine, cwd)
    wait_until(lambda: bool(_claude_runs(machine)), timeout_s=30, what="claude to start")
    [child] = _journal_pids(machine)
    return process, child


def test_client_killed_while_claude_runs_ends_the_child_at_once(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    process, child = _while_claude_runs(machine, tmp_path / "proj", 30)
    process.kill()
    process.wait(timeout=10)
    wait_until(lambda: not _alive(child), timeout_s=10, what="the served child to end")
    os.kill(int(str(_claude_runs(machine)[0]["pid"])), signal.SIGKILL)  # as a kill -9 leaves it
    process.communicate(timeout=10)


def test_client_whose_child_died_says_so_in_one_sentence_and_exits_1(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    process, child = _while_claude_runs(machine, tmp_path / "proj", 1)
    os.kill(child, signal.SIGKILL)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.splitlines()[-1] == (
        "roam: the cr server's process ended without saying how the session ended."
    )


def test_sigterm_to_the_client_while_claude_runs_ends_claude_and_exits_143(
    server: subprocess.Popen[bytes], machine: dict[str, str], tmp_path: Path
) -> None:
    process, _child = _while_claude_runs(machine, tmp_path / "proj", 30)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert not _alive(int(str(_claude_runs(machine)[0]["pid"])))


def _reading_pipe(fifo: Path) -> bool:
    """Whether a process (other than this one, its writer) that has ``fifo`` open sleeps in a
    pipe read."""
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        if fd.parent.parent.name == str(os.getpid()):
            continue
        with contextlib.suppress(OSError):
            if os.readlink(fd) == str(fifo):
                return "pipe_read" in Path(fd.parent.parent, "wchan").read_text()
    return False


def _signalled_before_claude(machine: dict[str, str], cwd: Path, signum: int) -> int:
    """``roam cr``'s exit status when ``signum`` reaches it while it reads roam's config (a FIFO
    that blocks it there), before claude starts."""
    config = Path(machine["XDG_CONFIG_HOME"], "session-roam", "config.toml")
    config.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(config)
    process = _roam(["cr"], machine, cwd)
    held: list[int] = []

    def reading() -> bool:  # a FIFO opens for writing only once someone reads it
        with contextlib.suppress(OSError):
            held.append(os.open(config, os.O_WRONLY | os.O_NONBLOCK))
        return bool(held)

    try:
        wait_until(reading, timeout_s=30, what="roam cr to read its config")
        # Only once it sleeps in read(2): a signal that lands between Python's last check and
        # the syscall is handled after it returns (CPython's own race, in-process too).
        wait_until(lambda: _reading_pipe(config), timeout_s=30, what="roam cr to wait in read")
        process.send_signal(signum)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:  # it failed: leave nothing behind, its server child neither
            process.kill()
            process.communicate(timeout=30)
        with contextlib.suppress(OSError):  # a reader still waiting in open(2) gets EOF
            os.close(os.open(config, os.O_RDWR | os.O_NONBLOCK))
        for fd in held:
            os.close(fd)
        config.unlink()
    assert _claude_runs(machine) == []
    return process.returncode


@pytest.mark.parametrize(
    ("signum", "expected"), [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)]
)
def test_a_signal_before_claude_starts_ends_a_served_cr_as_an_in_process_one(
    server: subprocess.Popen[bytes],
    machine: dict[str, str],
    tmp_path: Path,
    signum: int,
    expected: int,
) -> None:
    cwd = tmp_path / "proj"
    served = _signalled_before_claude(machine, cwd, signum)
    local = _signalled_before_claude({**machine, "ROAM_CR_SERVER": "0"}, cwd, signum)
    assert (served, local) == (expected, expected)


def test_server_that_finds_its_code_changed_says_stale_and_exits(
    machine: dict[str, str], tmp_path: Path
) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="roam-rt-"))
    process = _start_server(runtime)
    touched = SRC / "cli" / "crwire.py"
    before = touched.stat()
    try:
        os.utime(touched, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
        env = {**machine, "XDG_RUNTIME_DIR": str(runtime)}
        pid, code, _out, err = _run(["cr"], env, tmp_path / "proj")
        assert code == 0, err
        assert _journal_pids(machine) == {pid}  # it ran in its own process
        assert process.wait(timeout=10) == EXIT_STALE
        assert not Path(socket_path(env) or "").exists()
    finally:
        os.utime(touched, ns=(before.st_atime_ns, before.st_mtime_ns))
        _stop(process)
        subprocess.run(["rm", "-rf", str(runtime)], check=False)


def test_server_ends_and_removes_its_socket_when_stopped(tmp_path: Path) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="roam-rt-"))
    try:
        process = _start_server(runtime)
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert not (runtime / "session-roam" / "cr.sock").exists()
        assert not processes_mentioning(f"crserver --parent {process.pid}")
    finally:
        subprocess.run(["rm", "-rf", str(runtime)], check=False)
