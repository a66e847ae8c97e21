"""The package's layers, read from its imports: what may import what (docs/architecture.md).

Every module of ``session_roam`` belongs to one unit (a subpackage, or a top-level module) and
every unit to one floor of ``LAYERS``. An import may only go down, to a lower floor; the CLI
reaches the engine only through the subpackages' faces (their ``__all__``); a ``_private``
name stays inside its unit. Imports are read from the source with ``ast``, all of them:
module level, inside functions (the lazy imports that keep start-up quick) and under
``TYPE_CHECKING`` - a dependency is a dependency, whenever it is paid for.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "session_roam"

#: The floors, ground first. A unit may import its own modules and any unit on a lower floor.
#: Keep in step with the table in docs/architecture.md.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("session_roam.bounds", "session_roam.errors", "session_roam.visible"),
    ("session_roam.merge",),
    ("session_roam.engine.face",),
    ("session_roam.engine.core",),
    ("session_roam.engine.syncthing",),
    ("session_roam.engine.lease",),
    ("session_roam.engine.sessions",),
    ("session_roam.engine.claude",),
    ("session_roam.engine.conflicts",),
    ("session_roam.engine.deletions",),
    ("session_roam.engine.travel",),
    ("session_roam.engine.resume",),
    ("session_roam.engine.setup",),
    ("session_roam.engine.verify",),
    ("session_roam.engine.demo",),
    ("session_roam.cli",),
    ("session_roam.__main__",),
)

FLOOR = {unit: floor for floor, units in enumerate(LAYERS) for unit in units}

#: Units that are not on a floor of their own: the root package (its version) and the engine's
#: own ``__init__`` (a docstring), importable from anywhere.
GROUND = {"session_roam", "session_roam.engine"}

FACES = tuple(
    unit for unit in FLOOR if unit.startswith("session_roam.engine.") and unit.count(".") == 2
)
FACES = tuple(unit for unit in FACES if (SRC / unit.replace(".", "/") / "__init__.py").exists())


@dataclass(frozen=True)
class Import:
    """One imported name: ``from module import name`` (``name`` None for ``import module``)."""

    importer: str
    module: str
    name: str | None
    line: int

    @property
    def where(self) -> str:
        return f"{self.importer}:{self.line}"


def module_name(path: Path) -> str:
    """``src/session_roam/engine/lease/api.py`` -> ``session_roam.engine.lease.api``."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str | None:
    """The unit that holds ``module``: the longest entry of ``LAYERS`` that prefixes it."""
    best = None
    for unit in FLOOR:
        if (module == unit or module.startswith(unit + ".")) and (
            best is None or len(unit) > len(best)
        ):
            best = unit
    if best is None and module in GROUND:
        return module
    return best


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str, path: Path) -> list[Import]:
    """Every ``session_roam`` import in one file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, target] if target else base)
            found += [Import(module, target, a.name, node.lineno) for a in node.names]
    return [i for i in found if i.module.split(".")[0] == "session_roam"]


def target_of(imp: Import, known: dict[str, Path]) -> str:
    """The module an import reaches: ``from pkg import submodule`` reaches the submodule."""
    if imp.name and f"{imp.module}.{imp.name}" in known:
        return f"{imp.module}.{imp.name}"
    return imp.module


def all_imports() -> list[Import]:
    known = modules()
    return [imp for module, path in known.items() for imp in imports_of(module, path)]


def unit_edges() -> set[tuple[str, str, str]]:
    """(importer's unit, imported unit, where) for every import that crosses units."""
    known = modules()
    edges = set()
    for imp in all_imports():
        source, target = unit_of(imp.importer), unit_of(target_of(imp, known))
        if source and target and source != target:
            edges.add((source, target, imp.where))
    return edges


def test_every_module_belongs_to_a_floor() -> None:
    assert [m for m in modules() if unit_of(m) is None] == []


def test_no_import_goes_up_a_floor() -> None:
    upward = [
        f"{where}: {source} (floor {FLOOR[source]}) imports {target} (floor {FLOOR[target]})"
        for source, target, where in sorted(unit_edges())
        if target not in GROUND and source in FLOOR and FLOOR[target] >= FLOOR[source]
    ]
    assert upward == []


def test_no_import_circle_between_units() -> None:
    graph: dict[str, set[str]] = {}
    for source, target, _ in unit_edges():
        graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    circles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and reaches(b, a))
    assert circles == []


def test_no_import_circle_between_modules() -> None:
    """Not even inside a unit, nor for the type checker: a circle is one job in two files."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for imp in all_imports():
        target = target_of(imp, known)
        if target in known and target != imp.importer:
            graph.setdefault(imp.importer, set()).add(target)
    circles = []
    for start in sorted(graph):
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            node = todo.pop()
            if node == start:
                circles.append(start)
                break
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
    assert circles == []


def test_merge_imports_nothing_from_the_engine_or_the_cli() -> None:
    leaks = [
        f"{where}: {target}"
        for source, target, where in unit_edges()
        if source == "session_roam.merge"
        and target not in {"session_roam.errors", "session_roam.bounds"}
    ]
    assert leaks == []


def test_the_engine_imports_nothing_from_the_cli() -> None:
    leaks = [
        f"{where}: {target}"
        for source, target, where in unit_edges()
        if source.startswith("session_roam.engine") and target.startswith("session_roam.cli")
    ]
    assert leaks == []


def test_no_private_name_is_imported_across_units() -> None:
    known = modules()
    taken = [
        f"{imp.where}: {imp.name} from {imp.module}"
        for imp in all_imports()
        if imp.name
        and imp.name.startswith("_")
        and not imp.name.startswith("__")
        and unit_of(imp.importer) != unit_of(target_of(imp, known))
    ]
    assert taken == []


def _face_names(unit: str) -> set[str]:
    return set(importlib.import_module(unit).__all__)


def test_the_cli_imports_the_engine_only_through_faces() -> None:
    """``from session_roam.engine.<pkg> import <name in __all__>``, or the face itself."""
    wrong = []
    for imp in all_imports():
        if unit_of(imp.importer) != "session_roam.cli" or not imp.module.startswith(
            "session_roam.engine"
        ):
            continue
        if imp.module == "session_roam.engine" and f"{imp.module}.{imp.name}" in FACES:
            continue
        if imp.module in FACES and imp.name in _face_names(imp.module):
            continue
        wrong.append(f"{imp.where}: from {imp.module} import {imp.name}")
    assert wrong == []


def test_the_cli_uses_only_face_names_of_a_face_it_imports_whole() -> None:
    """``from session_roam.engine import lease`` then ``lease.acquire``: ``acquire`` is public."""
    wrong = []
    for module, path in modules().items():
        if unit_of(module) != "session_roam.cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        faces = {
            (a.asname or a.name): f"session_roam.engine.{a.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "session_roam.engine"
            for a in node.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in faces
                and node.attr not in _face_names(faces[node.value.id])
            ):
                wrong.append(f"{module}:{node.lineno}: {node.value.id}.{node.attr}")
    assert wrong == []


def _type_checking_imports(face: str) -> dict[str, tuple[str, str]]:
    """Name -> (module, attribute), from the ``if TYPE_CHECKING:`` block of a face."""
    path = SRC / face.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    names |= {(a.asname or a.name): (inner.module, a.name) for a in inner.names}
    return names


@pytest.mark.parametrize("face", FACES)
def test_a_face_lists_its_names_sorted(face: str) -> None:
    names = importlib.import_module(face).__all__
    assert names == sorted(names)


@pytest.mark.parametrize("face", FACES)
def test_a_face_shows_the_type_checker_what_it_exports(face: str) -> None:
    assert set(_type_checking_imports(face)) == _face_names(face)


@pytest.mark.parametrize("face", FACES)
def test_every_name_of_a_face_is_the_object_its_module_defines(face: str) -> None:
    package = importlib.import_module(face)
    for name, (module, attribute) in _type_checking_imports(face).items():
        if f"{module}.{attribute}" in modules():  # a submodule the face exports whole
            importlib.import_module(f"{module}.{attribute}")
        defined = getattr(importlib.import_module(module), attribute)
        assert getattr(package, name) is defined, f"{face}.{name}"


@pytest.mark.parametrize("face", FACES)
def test_no_face_name_is_shadowed_by_a_submodule(face: str) -> None:
    folder = SRC / face.replace(".", "/")
    submodules = {path.stem for path in folder.glob("*.py")}
    exported_modules = {name for name in _face_names(face) if name in submodules}
    lazy_names = _face_names(face) - exported_modules
    assert lazy_names & submodules == set()


def test_the_engine_holds_subpackages_and_a_handful_of_modules() -> None:
    engine = PACKAGE / "engine"
    loose = sorted(p.name for p in engine.glob("*.py") if p.name != "__init__.py")
    assert loose == ["face.py"]


#: A module past this many lines holds more than one job: split it by job (docs/architecture.md).
MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    sizes = {
        module: len(path.read_text(encoding="utf-8").splitlines())
        for module, path in modules().items()
    }
    assert {module: n for module, n in sizes.items() if n > MAX_LINES} == {}


def test_the_architecture_document_lists_the_same_floors() -> None:
    """docs/architecture.md has the floors as a table, top first: ``| n | `unit` | ... |``."""
    text = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented = [
        line.split("|")[2].strip().strip("`")
        for line in text.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    ]
    assert documented == [unit for units in reversed(LAYERS) for unit in units]
