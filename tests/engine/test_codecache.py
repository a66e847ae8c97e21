"""Dataclasses made with the code cache (engine.core.codecache) are the dataclasses Python makes."""

from __future__ import annotations

import dataclasses
import stat
from dataclasses import FrozenInstanceError, dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from session_roam.engine.core.codecache import compiled_dataclasses, dataclass_code_file

if TYPE_CHECKING:
    from pathlib import Path


def _define() -> Any:
    @dataclass(frozen=True, slots=True, order=True)
    class Point:
        x: int
        y: int = 2
        tags: tuple[str, ...] = field(default_factory=tuple)

    return Point


def _behaviour(cls: Any) -> tuple[object, ...]:
    a, b = cls(1), cls(1, 3, ("t",))
    with pytest.raises(FrozenInstanceError):
        a.x = 5
    return (repr(a), repr(b), a == cls(1), a < b, hash(a) == hash(cls(1)), b.tags, cls.__slots__)


def test_a_dataclass_made_from_cached_code_behaves_as_one_python_compiled(tmp_path: Path) -> None:
    cache = str(tmp_path / "code.marshal")
    plain = _behaviour(_define())
    with compiled_dataclasses(cache):  # compiles, then saves
        first = _behaviour(_define())
    with compiled_dataclasses(cache):  # every function from the file
        second = _behaviour(_define())
    assert plain == first == second


def test_the_cache_is_a_private_file_and_a_broken_one_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "code.marshal"
    with compiled_dataclasses(str(cache)):
        _define()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    cache.write_bytes(b"\x00not marshal")
    with compiled_dataclasses(str(cache)):
        assert _behaviour(_define()) == _behaviour(_define())
    with compiled_dataclasses(str(cache)):
        assert str(_behaviour(_define())[0]).endswith("Point(x=1, y=2, tags=())")
    assert cache.read_bytes() != b"\x00not marshal"


def test_dataclasses_get_the_builtin_exec_back_even_when_the_block_fails(tmp_path: Path) -> None:
    seen: list[bool] = []

    def fail() -> None:
        with compiled_dataclasses(str(tmp_path / "c")):
            seen.append("exec" in vars(dataclasses))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert seen == [True]
    assert "exec" not in vars(dataclasses)


def test_the_cache_lives_in_roams_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert dataclass_code_file().startswith(str(tmp_path / "session-roam" / "dataclass-code."))


def test_the_cache_keeps_what_the_last_run_used_and_a_run_that_used_nothing_keeps_it(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "code.marshal"
    with compiled_dataclasses(str(cache)):
        _define()

        @dataclass
        class Gone:
            z: int

    full = cache.read_bytes()
    with compiled_dataclasses(str(cache)):
        pass
    assert cache.read_bytes() == full
    with compiled_dataclasses(str(cache)):
        _define()
    assert 0 < len(cache.read_bytes()) < len(full)


def test_a_second_run_compiles_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from session_roam.engine.core import codecache

    cache = str(tmp_path / "code.marshal")
    with compiled_dataclasses(cache):
        _define()
    compiled: list[str] = []

    def counting(source: str, *args: Any) -> Any:
        compiled.append(source)
        return compile(source, *args)

    monkeypatch.setattr(codecache, "compile", counting, raising=False)
    with compiled_dataclasses(cache):
        _define()
    assert compiled == []
