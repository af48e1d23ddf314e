"""Snapshot files: rendered deterministically, validated against the spec, written atomically.

A reader of ``openrouter.json`` or ``catalog.json`` sees the old file or the new one, whole: the new bytes
go to a temp file in the same folder (``.NAME.*.tmp``, never a snapshot name), are fsynced, renamed over
the old file with ``os.replace``, and the folder is fsynced so the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from syncer.errors import PublishError, SnapshotInvalidError
from syncer.formats import validate_catalog_document, validate_openrouter_document
from syncer.formats.openrouter_v2 import validate_openrouter_v2_document

OPENROUTER = "openrouter"
CATALOG = "catalog"
OPENROUTER_V2 = "openrouter-v2"
FILE_NAMES = {OPENROUTER: "openrouter.json", CATALOG: "catalog.json", OPENROUTER_V2: "openrouter-v2.json"}
VALIDATORS: dict[str, Callable[[object], list[str]]] = {
    OPENROUTER: validate_openrouter_document,
    CATALOG: validate_catalog_document,
    OPENROUTER_V2: validate_openrouter_v2_document,
}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def render(document: Mapping[str, Any]) -> bytes:
    """The one serialisation of a snapshot: one entry per line, keys in the order built, UTF-8.

    Each list item is encoded by the C encoder on a line of its own (``indent=`` would switch Python 3.11
    to its pure-Python encoder, 7x slower), so the file is readable and diffs line by line per model.
    """
    fields = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {_dumps(item)}" for item in value)
            fields.append(f"  {_dumps(key)}: [\n{items}\n  ]")
        else:
            fields.append(f"  {_dumps(key)}: {_dumps(value)}")
    return ("{\n" + ",\n".join(fields) + "\n}\n").encode("utf-8")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validated_bytes(name: str, document: Any) -> bytes:
    """Render and check a snapshot against the listing spec; raise SnapshotInvalidError otherwise."""
    problems = VALIDATORS[name](document)
    if problems:
        raise SnapshotInvalidError(FILE_NAMES[name], problems)
    return render(document)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise PublishError(
            f"cannot write {path}: {exc.strerror or exc}; the previous snapshot is untouched"
        ) from exc
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        raise PublishError(f"cannot fsync {folder}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def remove_stray_temp_files(folder: Path) -> list[Path]:
    """Temp files left by a killed writer (never read as snapshots); removed at the next publish."""
    removed = []
    for name in FILE_NAMES.values():
        for stray in folder.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                stray.unlink()
                removed.append(stray)
    return removed


def read_current(folder: Path, name: str) -> bytes | None:
    try:
        return (folder / FILE_NAMES[name]).read_bytes()
    except FileNotFoundError:
        return None


def publish_bytes(folder: Path, name: str, data: bytes) -> bool:
    """Write one snapshot if its bytes changed; returns whether the file was replaced.

    An unchanged file keeps its bytes and inode but gets a fresh mtime: a reader's "snapshot age" is the time
    since a sync last confirmed it, not since the listing last changed.
    """
    if read_current(folder, name) == data:
        os.utime(folder / FILE_NAMES[name])
        return False
    write_atomic(folder / FILE_NAMES[name], data)
    return True
