"""The code ``dataclasses`` compiles for each class, kept between runs like a module's bytecode.

On Python 3.11 every dataclass builds its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``
and, frozen, ``__setattr__``/``__delattr__`` by compiling source text (``exec``) when its module
is imported: ``roam cr``'s path defines 55 classes, 325 such functions, a quarter of its engine
import (84 -> 60 ms p50 with this cache, load 2.6; issue 16). The text depends only on the
class's definition, and code compiled from the same text is the same code, so
``compiled_dataclasses`` lends ``dataclasses`` an ``exec`` that looks the text up first and, when
the block ends, saves what was new. The file is in roam's cache folder (anything roam can
rebuild), named by the interpreter's version: one that cannot be read is ignored and rebuilt.
Nothing changes but where the code objects come from; ``exec`` is given back on the way out.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["compiled_dataclasses", "dataclass_code_file"]


def dataclass_code_file() -> str:
    """``$XDG_CACHE_HOME/session-roam/dataclass-code.<python>.marshal`` (the default cache home
    ``~/.cache``), without importing the engine: it is read before the engine is imported."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    name = f"dataclass-code.{sys.implementation.cache_tag}.{sys.hexversion:x}.marshal"
    return os.path.join(base, "session-roam", name)


def _load(path: str) -> dict[str, types.CodeType]:
    try:
        with open(path, "rb") as handle:
            loaded = marshal.loads(handle.read())  # noqa: S302 - roam's own 0600 file, as a .pyc is
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(k, str) and type(v) is types.CodeType}


def _save(path: str, known: dict[str, types.CodeType]) -> None:
    from pathlib import Path

    from session_roam.engine.core.atomic import atomic_write, make_private_dirs

    target = Path(path)
    with contextlib.suppress(OSError):  # a cache: without it roam is only slower
        make_private_dirs(target.parent)
        atomic_write(target, marshal.dumps(known), mode=0o600)


@contextlib.contextmanager
def compiled_dataclasses(path: str | None = None) -> Iterator[None]:
    """Within the block, dataclasses made by ``@dataclass`` reuse the code saved in ``path``
    (``dataclass_code_file()``) instead of compiling it; at the end the file is rewritten when
    the code used differs from the code it held (the file keeps only what the last run used)."""
    import dataclasses

    where = path if path is not None else dataclass_code_file()
    known = _load(where)
    used: dict[str, types.CodeType] = {}

    def cached_exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
        if isinstance(source, str):
            code = used.get(source) or known.get(source)
            if code is None:
                code = compile(source, "<string>", "exec")
            used[source] = code
            source = code
        exec(source, globals, locals)  # noqa: S102 - dataclasses' own generated code

    # A module global named ``exec`` is what dataclasses' functions find before the builtin.
    vars(dataclasses)["exec"] = cached_exec
    try:
        yield
    finally:
        vars(dataclasses).pop("exec", None)
        # New code, or code no class of this roam uses any more (nothing used: nothing known)
        if used and used.keys() != known.keys():
            _save(where, used)
