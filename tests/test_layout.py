"""The layout holds: no import cycle inside syncer, each room imports only what its door allows.

Read from the source with ``ast`` (every ``import`` statement, module-level or inside a function), and checked
once more at run time in a fresh interpreter: what a light command really loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "syncer"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``), leaving out
    ``if TYPE_CHECKING:`` blocks; with ``module_level_only``, also imports inside functions."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import) and (top or not module_level_only):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and (top or not module_level_only):
                base = child.module or ""
                if child.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - child.level + 1]
                        + ([base] if base else [])
                    )
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child, inner)

    visit(tree, True)
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _syncer_deps(module: str, *, module_level_only: bool) -> set[str]:
    deps = set()
    for imported in _imports(MODULES[module], module_level_only=module_level_only):
        if imported in MODULES and imported != module:
            deps.add(imported)
    return deps


def _closure(module: str, *, module_level_only: bool) -> set[str]:
    """``module`` and everything it imports, transitively; importing ``a.b`` runs ``a/__init__`` too."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parents = [".".join(current.split(".")[:i]) for i in range(1, current.count(".") + 1)]
        todo += [p for p in parents if p in MODULES]
        todo += sorted(_syncer_deps(current, module_level_only=module_level_only))
    return seen


def _third_party(modules: set[str], *, module_level_only: bool) -> set[str]:
    names = set()
    for module in modules:
        for imported in _imports(MODULES[module], module_level_only=module_level_only):
            if not imported.startswith("syncer"):
                names.add(imported.split(".")[0])
    return names


def test_no_import_cycle_inside_syncer() -> None:
    graph = {m: _syncer_deps(m, module_level_only=True) for m in MODULES}
    # A package's __init__ imported by its own submodule is how Python loads any submodule: not a cycle.
    for module, deps in graph.items():
        deps.difference_update(d for d in list(deps) if module.startswith(d + "."))
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                walk(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)


def test_the_server_reads_files_only() -> None:
    """``serve`` never imports the store, the Hub, the pipeline or sqlalchemy, not even lazily."""
    reached = _closure("syncer.serve", module_level_only=False)
    forbidden = {
        "syncer.store",
        "syncer.hub",
        "syncer.sync",
        "syncer.resolve",
        "syncer.merge",
        "syncer.publish",
    }
    assert not {m for m in reached if any(m == f or m.startswith(f + ".") for f in forbidden)}
    assert not _third_party(reached, module_level_only=False) & {"sqlalchemy", "alembic", "huggingface_hub"}


def test_only_the_store_room_writes_sql() -> None:
    offenders = [
        module
        for module, path in MODULES.items()
        if not module.startswith("syncer.store")
        and any(i.split(".")[0] in ("sqlalchemy", "alembic") for i in _imports(path, module_level_only=False))
    ]
    assert offenders == []


IO_MODULES = {"os", "io", "pathlib", "socket", "subprocess", "shutil", "tempfile", "urllib", "http", "requests",
              "httpx", "sqlalchemy", "huggingface_hub"}  # fmt: skip


@pytest.mark.parametrize(
    "module",
    [
        "syncer.derive",
        "syncer.listing",
        "syncer.listing_v2",
        "syncer.parameters",
        "syncer.merge",
        "syncer.publish.guard",
    ],
)
def test_pure_stages_do_no_io(module: str) -> None:
    path = MODULES[module]
    imported = {i.split(".")[0] for i in _imports(path, module_level_only=False)}
    assert not imported & IO_MODULES
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & {"open", "print", "input", "exec", "eval"}


def test_settings_import_nothing_of_the_app() -> None:
    assert _syncer_deps("syncer.settings", module_level_only=False) <= {"syncer.errors"}


def test_library_rooms_never_import_the_cli() -> None:
    offenders = [
        module
        for module in MODULES
        if not module.startswith("syncer.cli") and module != "syncer.__main__"
        and any(d.startswith("syncer.cli") for d in _syncer_deps(module, module_level_only=False))
    ]  # fmt: skip
    assert offenders == []


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(out.stdout.split())


def test_the_cli_and_the_server_start_without_the_pipeline() -> None:
    heavy = {"huggingface_hub", "sqlalchemy", "syncer.sync", "syncer.hub", "apscheduler"}
    assert not _loaded_after("import syncer.cli") & heavy
    assert not _loaded_after("import syncer.serve; from syncer.serve.app import app_from_environment") & heavy
    # the logging that every command and server worker configures pulls nothing else of syncer
    assert {m for m in _loaded_after("import syncer.logs") if m.startswith("syncer")} == {
        "syncer",
        "syncer.logs",
    }
