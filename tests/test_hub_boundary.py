"""The Hub boundary: only ``syncer.hub`` imports ``huggingface_hub``, only ``syncer/hub/_compat.py`` touches its
private names, and the per-call GET timeout of the shim really reaches the wire."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import syncer
from syncer.hub import HubClient
from syncer.hub._compat import get_timeout

PACKAGE = Path(syncer.__file__).resolve().parent
HUB = PACKAGE / "hub"
COMPAT = HUB / "_compat.py"
LIBRARY = "huggingface_hub"


def _imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every import in ``path``; name is None for ``import module``."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.lineno, node.module, alias.name) for alias in node.names)
    return found


def _is_library(module: str) -> bool:
    return module == LIBRARY or module.startswith(LIBRARY + ".")


def _is_private(module: str, name: str | None) -> bool:
    return any(part.startswith("_") for part in module.split(".")) or bool(name and name.startswith("_"))


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_scan_sees_the_hub_package() -> None:
    sources = _sources()
    assert COMPAT in sources and HUB / "__init__.py" in sources
    assert any(_is_library(module) for _, module, _ in _imports(HUB / "_client.py"))


def test_only_syncer_hub_imports_huggingface_hub() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path in _sources()
        if HUB not in path.parents
        for line, module, _ in _imports(path)
        if _is_library(module)
    ]
    assert offenders == []


def test_private_huggingface_hub_names_only_in_the_shim() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module} {name or ''}".rstrip()
        for path in _sources()
        if path != COMPAT
        for line, module, name in _imports(path)
        if _is_library(module) and _is_private(module, name)
    ]
    assert offenders == []
    # The shim does hold one (the reason it exists): the check would notice it anywhere else.
    assert any(_is_library(m) and _is_private(m, n) for _, m, n in _imports(COMPAT))


def test_the_rest_of_syncer_uses_only_the_hub_door() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path in _sources()
        if HUB not in path.parents
        for line, module, _ in _imports(path)
        if module.startswith("syncer.hub.")
    ]
    assert offenders == []


def test_no_library_constant_is_assigned_in_syncer() -> None:
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and ast.unparse(target.value) in {"constants", LIBRARY}:
                    offenders.append(
                        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(target)}"
                    )
    assert offenders == []


@pytest.mark.parametrize("seconds", [1.5, 4.0])
def test_get_timeout_reaches_the_request_and_only_within_the_call(
    private_mirror, repo_tree, tmp_path, seconds
):
    from huggingface_hub import get_session

    hub = private_mirror(repo_tree("Qwen/Qwen3.5-9B"))
    HubClient(endpoint=hub.url, token=None, cache_dir=tmp_path)  # installs the client factory
    url = f"{hub.url}/api/models/Qwen/Qwen3.5-9B"
    with get_timeout(seconds):
        inside = get_session().get(url, timeout=10)
        head = get_session().head(url, timeout=10)
    outside = get_session().get(url, timeout=10)
    assert inside.status_code == 200
    assert inside.request.extensions["timeout"] == dict.fromkeys(
        ("connect", "read", "write", "pool"), seconds
    )
    assert head.request.extensions["timeout"]["read"] == 10  # HEAD keeps etag_timeout
    assert outside.request.extensions["timeout"]["read"] == 10
    assert "x-amzn-trace-id" in inside.request.headers  # the library's own request hook still runs
