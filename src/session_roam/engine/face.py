"""Lazy faces: a subpackage's ``__init__`` names its public API without importing it.

Each engine subpackage shows the CLI (and anyone outside it) one face: its ``__init__`` lists
the public names in ``__all__`` and the CLI imports only those. Importing every module behind a
face eagerly would make every command pay for the heaviest of them (``roam cr`` and ``roam cf``
start in tens of milliseconds; the verify checks or the Syncthing client alone cost more), so a
face imports nothing: its module ``__getattr__`` imports the one module that holds a name on
first use. The type checker reads the same names from an ``if TYPE_CHECKING:`` block, and
tests/test_layers.py checks that the two lists agree.

Nothing is cached in the face: each access asks the module, so a test that patches a name where
it is defined is seen through the face as well.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not from typing: it costs ~5 ms of every start-up

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["lazy_face", "resolve"]


def resolve(table: Mapping[str, tuple[str, ...]], name: str) -> tuple[str, str] | None:
    """The module and attribute behind ``name`` in a face's table, or None if it is not there.

    The table maps a module (relative to the package) to the names the face takes from it;
    ``"face_name=attribute"`` exports an attribute under a clearer name.
    """
    for module, names in table.items():
        for entry in names:
            face_name, _, attribute = entry.partition("=")
            if face_name == name:
                return module, attribute or face_name
    return None


def lazy_face(package: str, table: Mapping[str, tuple[str, ...]]) -> Callable[[str], object]:
    """The module ``__getattr__`` of the face of ``package``: imports a name's module on use."""

    def __getattr__(name: str) -> object:
        where = resolve(table, name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where
        full = f"{package}.{module}"
        if full not in sys.modules:
            __import__(full)  # not importlib.import_module: the importlib package costs ~0.4 ms
        return getattr(sys.modules[full], attribute)

    return __getattr__
