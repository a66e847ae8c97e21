"""``roam export`` writes a session whole to one file; ``roam import`` checks it all, then
places it."""

from __future__ import annotations

import io
import json
import tarfile
from typing import TYPE_CHECKING

import pytest

from session_roam.engine.core.paths import project_dir_for
from session_roam.engine.core.store import syncthing_temp
from session_roam.engine.travel.bundle import export_session
from session_roam.engine.travel.carry import carry
from session_roam.engine.travel.files import sha256
from session_roam.engine.travel.targets import import_target
from session_roam.engine.travel.unbundle import import_session, read_bundle
from session_roam.errors import InvalidInput, MergeError

if TYPE_CHECKING:
    from pathlib import Path

    from tests.engine.sessions_fixtures import SessionWriter


@pytest.fixture
def session(writer: SessionWriter, project: Path, config_dir: Path) -> Path:
    path = writer.write(project, [("first question", "first answer"), ("second", "more")])
    sidecar = path.with_suffix("") / "subagents"
    sidecar.mkdir(parents=True)
    (sidecar / "agent-a1.jsonl").write_bytes(b'{"type": "user"}\n')
    history = config_dir / "file-history" / path.stem
    history.mkdir(parents=True)
    (history / "0123456789abcdef@v1").write_bytes(b"before the edit\n")
    return path


@pytest.fixture
def exported(session: Path, config_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out.roam.tgz"
    export_session(session, session.stem, config_dir, out)
    return out


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _export_of(members: dict[str, bytes], session_id: str, **extra: object) -> bytes:
    manifest = {
        "format": "roam.export/1",
        "session_id": session_id,
        "cwd": "/nowhere",
        "members": [
            {"name": n, "size": len(d), "sha256": sha256(d)} for n, d in sorted(members.items())
        ],
        **extra,
    }
    listed = [_file("manifest.json", json.dumps(manifest).encode())]
    return _tar(listed + [_file(n, d) for n, d in members.items()])


def _with_unlisted(session: Path, member: tuple[tarfile.TarInfo, bytes]) -> bytes:
    """A valid export of ``session`` plus one member its manifest does not list."""
    data = session.read_bytes()
    manifest = {
        "format": "roam.export/1",
        "session_id": session.stem,
        "members": [{"name": "session.jsonl", "size": len(data), "sha256": sha256(data)}],
    }
    listed = [_file("manifest.json", json.dumps(manifest).encode()), _file("session.jsonl", data)]
    return _tar([*listed, member])


def test_an_export_imported_elsewhere_gives_the_session_byte_for_byte(
    session: Path, exported: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    bundle = read_bundle(exported)
    report = import_session(bundle, project_dir_for(cwd, elsewhere), elsewhere)
    assert report.outcome == "imported"
    assert report.session_file.read_bytes() == session.read_bytes()
    sidecar = report.session_file.with_suffix("") / "subagents" / "agent-a1.jsonl"
    assert sidecar.read_bytes() == b'{"type": "user"}\n'
    snapshot = elsewhere / "file-history" / session.stem / "0123456789abcdef@v1"
    assert snapshot.read_bytes() == b"before the edit\n"
    assert report.session_file.stat().st_mode & 0o777 == 0o600


def test_the_export_carries_companions_already_travelling_in_the_session_folder(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    carry(session, config_dir, session.stem)
    (config_dir / "file-history" / session.stem / "0123456789abcdef@v1").unlink()
    out = tmp_path / "again.roam.tgz"
    report = export_session(session, session.stem, config_dir, out)
    assert report.companions == ("file-history/0123456789abcdef@v1",)


def test_importing_the_same_export_twice_changes_nothing(exported: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    project = project_dir_for(tmp_path, elsewhere)
    import_session(read_bundle(exported), project, elsewhere)
    again = import_session(read_bundle(exported), project, elsewhere)
    assert again.outcome == "unchanged"


def test_a_different_session_with_the_same_id_is_not_overwritten(
    session: Path, exported: Path, config_dir: Path
) -> None:
    before = session.read_bytes() + session.read_bytes()[:0]
    session.write_bytes(before.replace(b"second", b"other"))
    changed = session.read_bytes()
    with pytest.raises(MergeError, match="already here"):
        import_session(read_bundle(exported), session.parent, config_dir)
    assert session.read_bytes() == changed


def test_merge_joins_a_different_session_with_the_same_id(
    writer: SessionWriter, session: Path, exported: Path, config_dir: Path
) -> None:
    writer.append(session, [("asked on this machine", "answered here")])
    report = import_session(read_bundle(exported), session.parent, config_dir, merge=True)
    assert report.outcome == "merged"
    text = session.read_bytes()
    assert b"asked on this machine" in text
    assert b"first question" in text


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../escape.jsonl", "sidecar/../../escape", "sidecar/a//b", "other/file"],
)
def test_a_member_name_that_could_leave_the_folder_is_refused(
    name: str, tmp_path: Path, session: Path
) -> None:
    members = {"session.jsonl": session.read_bytes(), name: b"x"}
    source = tmp_path / "bad.tgz"
    source.write_bytes(_export_of(members, session.stem))
    with pytest.raises(InvalidInput, match=r"not allowed|not part"):
        read_bundle(source)


def test_a_link_member_is_refused(tmp_path: Path, session: Path) -> None:
    link = tarfile.TarInfo("sidecar/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    source = tmp_path / "link.tgz"
    source.write_bytes(_with_unlisted(session, (link, b"")))
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_bundle(source)


def test_a_member_that_does_not_match_its_checksum_is_refused(
    tmp_path: Path, session: Path
) -> None:
    good = _export_of({"session.jsonl": session.read_bytes()}, session.stem)
    tampered = tmp_path / "tampered.tgz"
    with tarfile.open(fileobj=io.BytesIO(good)) as tar:
        manifest = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
    tampered.write_bytes(_tar([_file("manifest.json", manifest), _file("session.jsonl", b"{}\n")]))
    with pytest.raises(InvalidInput, match="checksum"):
        read_bundle(tampered)


def test_a_member_the_manifest_does_not_list_is_refused(tmp_path: Path, session: Path) -> None:
    source = tmp_path / "extra.tgz"
    source.write_bytes(_with_unlisted(session, _file("sidecar/smuggled.txt", b"x")))
    with pytest.raises(InvalidInput, match="manifest lists"):
        read_bundle(source)


def test_a_session_id_that_is_not_a_uuid_is_refused(tmp_path: Path, session: Path) -> None:
    source = tmp_path / "id.tgz"
    source.write_bytes(_export_of({"session.jsonl": session.read_bytes()}, "../../x"))
    with pytest.raises(InvalidInput, match="session id"):
        read_bundle(source)


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "junk.tgz"
    source.write_bytes(b"not a tar at all")
    with pytest.raises(InvalidInput, match="not a valid roam export"):
        read_bundle(source)


def test_nothing_is_written_when_an_export_is_refused(
    tmp_path: Path, session: Path, config_dir: Path
) -> None:
    members = {"session.jsonl": session.read_bytes(), "sidecar/ok.txt": b"fine"}
    raw = _export_of(members, session.stem)
    source = tmp_path / "bad.tgz"
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        manifest = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
    source.write_bytes(
        _tar(
            [
                _file("manifest.json", manifest),
                _file("session.jsonl", session.read_bytes()),
                _file("sidecar/ok.txt", b"tampered"),
            ]
        )
    )
    before = sorted(p for p in config_dir.rglob("*"))
    with pytest.raises(InvalidInput):
        read_bundle(source)
    assert sorted(p for p in config_dir.rglob("*")) == before


def test_an_import_goes_to_the_mapped_path_of_its_recorded_cwd(
    tmp_path: Path, config_dir: Path
) -> None:
    from session_roam.engine.core import xdg
    from session_roam.engine.sessions.pathmap import map_path

    here = tmp_path / "home" / "nat" / "proj"
    here.mkdir(parents=True)
    xdg.config_dir().mkdir(parents=True, exist_ok=True)
    map_path(xdg.config_dir(), "/Users/nat", str(tmp_path / "home" / "nat"))
    project, _ = import_target("/Users/nat/proj", tmp_path, None, config_dir)
    assert project == project_dir_for(here, config_dir)


def test_the_fixed_project_folder_name_wins_over_every_cwd(
    tmp_path: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("CLAUDE_CODE_PROJECT_DIR_NAME", "shared-project")
    project, _ = import_target("/Users/nat/proj", tmp_path, None, None)
    assert project == config_dir / "projects" / "shared-project"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"CLAUDE_CODE_PROJECT_DIR_NAME": "shared"}, None),  # ignored without CLAUDE_CONFIG_DIR
        ({"CLAUDE_CONFIG_DIR": "/c", "CLAUDE_CODE_PROJECT_DIR_NAME": "shared"}, "shared"),
        ({"CLAUDE_CONFIG_DIR": "/c", "CLAUDE_CODE_PROJECT_DIR_NAME": "../up"}, None),
        ({"CLAUDE_CONFIG_DIR": "/c", "CLAUDE_CODE_PROJECT_DIR_NAME": "NUL"}, None),
        ({"CLAUDE_CONFIG_DIR": "/c", "CLAUDE_CODE_PROJECT_DIR_NAME": "x" * 65}, None),
    ],
)
def test_the_fixed_project_name_follows_the_clients_rule(
    environ: dict[str, str], expected: str | None
) -> None:
    from session_roam.engine.core.paths import fixed_project_name

    assert fixed_project_name(environ) == expected


def test_a_session_already_here_is_imported_into_its_own_folder(
    session: Path, config_dir: Path, tmp_path: Path
) -> None:
    project, _ = import_target(None, tmp_path, None, config_dir, session.stem)
    assert project == session.parent


def test_a_member_larger_than_the_bound_is_refused_before_it_is_read(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from session_roam.engine.travel import unbundle

    monkeypatch.setattr(unbundle, "MAX_MEMBER_BYTES", 10)
    with pytest.raises(InvalidInput, match="larger than roam accepts"):
        read_bundle(exported)


def test_an_import_over_a_session_syncthing_is_renaming_in_imports_nothing(
    exported: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    project = project_dir_for(tmp_path, elsewhere)
    project.mkdir(parents=True)
    bundle = read_bundle(exported)
    target = project / f"{bundle.session_id}.jsonl"
    # Syncthing wrote its temp and removed the old file: the rename would replace an import
    syncthing_temp(target).write_bytes(b'{"type": "user"}\n')
    with pytest.raises(MergeError, match="arriving here from Syncthing"):
        import_session(bundle, project, elsewhere)
    assert not target.exists()
