"""The cr server's pieces that need no server running: where the socket is, how messages are
framed, the fingerprint, what is preloaded, the supervisor, and the rule that lets a forked
server run the client's ``roam cr``: no module reads the environment, cwd or pid at import.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_roam.cli import crserver
from session_roam.cli.crserver import fingerprint
from session_roam.cli.crsupervise import CrServerSupervisor
from session_roam.cli.crwire import Channel, socket_path
from tests.support.cluster import wait_until
from tests.support.procs import processes_mentioning

SRC: Final = Path(__file__).resolve().parents[2] / "src" / "session_roam"


def test_fingerprint_changes_with_a_files_mtime(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    module = tmp_path / "pkg" / "a.py"
    module.write_text("x = 1\n")
    before = fingerprint(str(tmp_path))
    os.utime(module, ns=(0, module.stat().st_mtime_ns + 1))
    assert fingerprint(str(tmp_path)) != before


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"XDG_RUNTIME_DIR": "run/user"}, None),
        ({"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/session-roam/cr.sock"),
        ({"XDG_RUNTIME_DIR": "/" + "d" * 100}, None),
    ],
    ids=["unset", "relative", "usual", "beyond sun_path"],
)
def test_socket_path_is_private_and_fits_sun_path(
    environ: dict[str, str], expected: str | None
) -> None:
    assert socket_path(environ) == expected


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _JSON), st.integers(min_value=1, max_value=7))
def test_channel_reads_each_message_whole_whatever_the_segments(
    message: dict[str, object], cut: int
) -> None:
    left, right = socket.socketpair()
    with left, right:
        Channel(left).send(message)
        Channel(left).send({"t": "next"})
        left.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := right.recv(cut):
            data += chunk
        a, b = socket.socketpair()
        with a, b:
            a.sendall(data)
            a.shutdown(socket.SHUT_WR)
            reader = Channel(b)
            assert reader.receive() == (message, [])
            assert reader.receive() == ({"t": "next"}, [])
            assert reader.receive() == (None, [])


def test_preloaded_modules_exist() -> None:
    import importlib.util

    for name in crserver._PRELOAD:
        assert importlib.util.find_spec(name) is not None, name


_PER_PROCESS: Final = {
    ("os", "environ"),
    ("os", "getenv"),
    ("os", "getcwd"),
    ("os", "getpid"),
    ("os", "getuid"),
    ("os", "umask"),
    ("Path", "home"),
    ("Path", "cwd"),
    ("path", "expanduser"),
    ("socket", "gethostname"),
    ("sys", "argv"),
}


def _import_time_reads(tree: ast.Module) -> list[str]:
    """``os.environ``-like reads that run when the module is imported: outside any function
    body (decorators, default values and class bodies run then)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for part in (*node.args.defaults, *node.args.kw_defaults):
                if part is not None:
                    visit(part)
            for decorator in getattr(node, "decorator_list", ()):
                visit(decorator)
            return
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name | ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
            if (owner, node.attr) in _PER_PROCESS:
                found.append(f"{owner}.{node.attr}:{node.lineno}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_no_module_reads_the_environment_cwd_or_pid_at_import_time() -> None:
    """A served ``roam cr`` runs in a fork of the server: a value computed at import would be
    the server's (its environment, cwd, pid), not the client's."""
    offenders = {
        str(path.relative_to(SRC)): reads
        for path in sorted(SRC.rglob("*.py"))
        if (reads := _import_time_reads(ast.parse(path.read_text(), str(path))))
        and "__main__" not in path.name
    }
    assert offenders == {}


def test_import_time_audit_finds_a_module_level_read() -> None:
    tree = ast.parse("import os\nHOME = os.environ['HOME']\ndef f(x=os.getcwd()): pass\n")
    assert _import_time_reads(tree) == ["os.environ:2", "os.getcwd:3"]


def test_client_falls_back_within_milliseconds_without_a_server(tmp_path: Path) -> None:
    from session_roam.cli.crclient import served_cr

    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
        assert served_cr(["cr"]) is None
    assert time.perf_counter() - started < 0.2  # generous: the machine may be loaded


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def test_supervisor_starts_the_server_again_when_it_dies_and_stops_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="roam-rt-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    sock = runtime / "session-roam" / "cr.sock"
    said: list[str] = []
    supervisor = CrServerSupervisor(said.append)
    supervisor.start()
    try:
        wait_until(sock.exists, timeout_s=30, what="the server to listen")
        first = supervisor.pid
        assert first is not None
        os.kill(first, 9)
        wait_until(
            lambda: supervisor.pid not in (None, first) and _answers(sock),
            timeout_s=30,
            what="a new server",
        )
        assert said == ["cr server: ended with status -9; starting it again"]
    finally:
        supervisor.stop()
        subprocess.run(["rm", "-rf", str(runtime)], check=False)
    assert processes_mentioning(f"crserver --parent {os.getpid()}") == {}
    assert not sock.exists()


def test_server_refuses_a_socket_folder_that_is_a_link(tmp_path: Path) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="roam-rt-"))
    try:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (runtime / "session-roam").symlink_to(elsewhere)
        done = subprocess.run(
            [sys.executable, "-m", "session_roam.cli.crserver"],
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == crserver.EXIT_UNSERVED
        assert "cannot listen at" in done.stderr
        assert list(elsewhere.iterdir()) == []
    finally:
        subprocess.run(["rm", "-rf", str(runtime)], check=False)


def _as_systemd_unit(monkeypatch: pytest.MonkeyPatch, kill_mode: str) -> None:
    """This process as the roam-watch unit of a systemd whose KillMode is ``kill_mode``."""
    import io

    from session_roam.cli import crsupervise

    cgroup = "0::/user.slice/user@1000.service/app.slice/roam-watch.service\n"
    monkeypatch.setattr(crsupervise, "open", lambda *_a, **_k: io.StringIO(cgroup), raising=False)
    shown = subprocess.CompletedProcess([], 0, stdout=kill_mode + "\n", stderr="")
    monkeypatch.setattr(subprocess, "run", lambda *_a, **_k: shown)


def test_watch_under_a_unit_that_kills_children_serves_no_cr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from session_roam.cli.crsupervise import cr_server_running

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    _as_systemd_unit(monkeypatch, "control-group")
    said: list[str] = []
    with cr_server_running(said.append) as supervisor:
        assert supervisor is None
    assert "roam watch install" in said[0]
    assert not (tmp_path / "session-roam").exists()


def test_watch_under_a_kill_mode_process_unit_serves_cr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from session_roam.cli.crsupervise import _unit_kills_children

    _as_systemd_unit(monkeypatch, "process")
    assert not _unit_kills_children()


def _listening_in(folder: Path, mode: int) -> socket.socket:
    """A socket at ``folder/session-roam/cr.sock`` (the folder made with ``mode``), listening
    like a server that would read whatever a client sends."""
    inner = folder / "session-roam"
    inner.mkdir(mode=0o700)
    inner.chmod(mode)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(inner / "cr.sock"))
    listener.listen(1)
    return listener


def _client_tries(folder: Path) -> None:
    from session_roam.cli.crclient import served_cr

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_RUNTIME_DIR", str(folder))
        patch.setenv("ROAM_TEST_SECRET", "sk-ant-not-for-strangers")
        assert served_cr(["cr"]) is None  # nothing served: the in-process path runs it


def test_client_sends_nothing_to_a_socket_in_a_folder_others_can_enter(tmp_path: Path) -> None:
    listener = _listening_in(tmp_path, 0o777)
    with listener:
        _client_tries(tmp_path)
        listener.settimeout(0.2)
        conn, _ = listener.accept()  # the client connected, then looked, then left
        with conn:
            conn.settimeout(1.0)
            assert conn.recv(65536) == b""


def test_peer_credentials_are_the_pid_and_uid_of_the_process_at_the_other_end() -> None:
    from session_roam.cli.crwire import peer_credentials

    mine, theirs = socket.socketpair(socket.AF_UNIX)
    with mine, theirs:
        assert peer_credentials(mine) == (os.getpid(), os.geteuid())


def test_a_private_folder_and_our_own_listener_are_trusted(tmp_path: Path) -> None:
    from session_roam.cli.crwire import trusted_server

    listener = _listening_in(tmp_path, 0o700)
    path = str(tmp_path / "session-roam" / "cr.sock")
    with listener, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        assert trusted_server(sock, path)


@given(st.dictionaries(st.text(), _JSON))
def test_channel_frames_are_what_json_writes_and_reads(message: dict[str, object]) -> None:
    import json

    from session_roam.cli.crwire import decode, encode

    assert encode(message) == json.dumps(message, separators=(",", ":")).encode()
    assert decode(encode(message)) == json.loads(encode(message)) == message


def test_channel_hands_over_the_fds_sent_with_a_message(tmp_path: Path) -> None:
    left, right = socket.socketpair()
    handed = tmp_path / "handed"
    with left, right, handed.open("w") as sent:
        Channel(left).send({"t": "hello"}, fds=[sent.fileno()])
        message, fds = Channel(right).receive(max_fds=3)
        assert message == {"t": "hello"}
        assert len(fds) == 1
        with os.fdopen(fds[0], "w") as received:
            received.write("through the socket")
    assert handed.read_text() == "through the socket"


def test_the_client_loads_nothing_that_brings_enum_json_or_re_before_it_is_served() -> None:
    """What a served cr's client imports before "go" is paid on every roam cr (issue 16)."""
    heavy = ("enum", "json", "re", "signal", "socket", "typing")
    probe = (
        "import sys; import session_roam.cli.fast, session_roam.cli.crclient; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
