"""Snapshot files: rendered deterministically, validated against the spec, written atomically.

A reader of ``openrouter.json`` or ``catalog.json`` sees the old file or the new one, whole: the new bytes
go to a temp file in the same folder (``.NAME.*.tmp``, never a snapshot name), are fsynced, renamed over
the old file with ``os.replace``, and the folder is fsynced so the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer.errors import PublishError, SnapshotInvalidError, SnapshotWriteError
from syncer.formats.views import DOCUMENT_VALIDATORS, View, encode_json

OPENROUTER: str = View.OPENROUTER
CATALOG: str = View.CATALOG
OPENROUTER_V2: str = View.OPENROUTER_V2
FILE_NAMES: dict[str, str] = {
    OPENROUTER: "openrouter.json",
    CATALOG: "catalog.json",
    OPENROUTER_V2: "openrouter-v2.json",
}
VALIDATORS: dict[str, Callable[..., list[str]]] = {str(v): f for v, f in DOCUMENT_VALIDATORS.items()}


def render(document: Mapping[str, Any], encoded: Mapping[int, str] | None = None) -> bytes:
    """The one serialisation of a snapshot: one entry per line, keys in the order built, UTF-8.

    Each list item is encoded by the C encoder on a line of its own (``indent=`` would switch Python 3.11
    to its pure-Python encoder, 7x slower), so the file is readable and diffs line by line per model.
    ``encoded``: the text of list items already encoded (``encode_json``), by ``id`` of the item object,
    for entries encoded when they were merged (``Merged.texts``); any other item is encoded here.
    """
    texts = encoded or {}
    fields = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {texts.get(id(item)) or encode_json(item)}" for item in value)
            fields.append(f"  {encode_json(key)}: [\n{items}\n  ]")
        else:
            fields.append(f"  {encode_json(key)}: {encode_json(value)}")
    return ("{\n" + ",\n".join(fields) + "\n}\n").encode("utf-8")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def validated_bytes(name: str, document: Any) -> bytes:
    """Render and check a snapshot against the listing spec; raise SnapshotInvalidError otherwise."""
    problems = VALIDATORS[name](document)
    if problems:
        raise SnapshotInvalidError(FILE_NAMES[name], problems)
    return render(document)


def checked_bytes(
    name: str, document: Any, entry_problems: Sequence[str], encoded: Mapping[int, str] | None = None
) -> bytes:
    """Render a snapshot whose entries were each validated when they were made (``entry_problems``: what
    that found), checking the document's own rules (shape, unique ids, order) now; raise
    SnapshotInvalidError on any problem of either. ``encoded``: as for :func:`render`."""
    problems = [*entry_problems, *VALIDATORS[name](document, entries=False)]
    if problems:
        raise SnapshotInvalidError(FILE_NAMES[name], problems)
    return render(document, encoded)


def _write_temp(folder: Path, file_name: str, data: bytes) -> Path:
    """``data`` written and fsynced to a new temp file beside ``file_name`` (``.NAME.*.tmp``, never a
    snapshot name), mode 0644; on an OSError the temp file is removed and the error raised."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{file_name}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a mix."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        tmp = _write_temp(folder, path.name, data)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise SnapshotWriteError(folder, f"cannot write {path.name}: {exc.strerror or exc}") from exc
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        raise SnapshotWriteError(folder, f"cannot fsync the folder: {exc.strerror or exc}") from exc
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


def check_folder(folder: Path) -> None:
    """Raise SnapshotWriteError unless ``folder`` is (or can be made) a writable directory in which every
    snapshot name is free for a file: checked before a run does any work, so a bad SYNCER_SNAPSHOT_DIR fails
    at once with its cause instead of after the Hub stage."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SnapshotWriteError(folder, "it exists and is not a directory") from None
    except OSError as exc:
        raise SnapshotWriteError(folder, f"cannot create it: {exc.strerror or exc}") from exc
    if not folder.is_dir():
        raise SnapshotWriteError(folder, "it is not a directory")
    for file_name in FILE_NAMES.values():
        target = folder / file_name
        if target.is_dir():
            raise SnapshotWriteError(folder, f"{file_name} in it is a directory, not a file")
    try:
        fd, probe = tempfile.mkstemp(prefix=".syncer-write-check.", dir=folder)
    except OSError as exc:
        raise SnapshotWriteError(folder, f"not writable: {exc.strerror or exc}") from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def read_current(folder: Path, name: str) -> bytes | None:
    try:
        return (folder / FILE_NAMES[name]).read_bytes()
    except FileNotFoundError:
        return None


@dataclass
class Staged:
    """A run's files written and fsynced beside the live ones, none renamed yet (see :func:`stage`)."""

    folder: Path
    temps: dict[str, Path]  # snapshot name -> its fsynced temp file, for every file whose bytes change
    unchanged: list[str]

    def discard(self) -> None:
        """Remove every temp file: nothing of the run goes live."""
        for tmp in self.temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        self.temps = {}

    def commit(self, before_rename: Callable[[], None] | None = None) -> dict[str, bool]:
        """Rename every staged file over its live one, then fsync the folder; returns which files changed.

        Unchanged files keep their bytes and inode but get a fresh mtime (a reader's "snapshot age" is the
        time since a sync last confirmed it). A rename that fails (it only can on a broken filesystem) stops
        the rest and says which files are live and which are not. ``before_rename`` runs before each rename
        (the caller's fence: it raises to stop the publish; the files not yet renamed are discarded)."""
        done: list[str] = []
        for name, tmp in self.temps.items():
            if before_rename is not None:
                try:
                    before_rename()
                except BaseException:
                    self.discard()
                    raise
            try:
                os.replace(tmp, self.folder / FILE_NAMES[name])
            except OSError as exc:
                left = [FILE_NAMES[n] for n in self.temps if n not in done]
                self.discard()
                raise PublishError(
                    f"cannot rename {FILE_NAMES[name]} into {self.folder}: {exc.strerror or exc}; "
                    f"live now: {', '.join(FILE_NAMES[n] for n in done) or 'none of the new files'}; "
                    f"not published: {', '.join(left)}"
                ) from exc
            done.append(name)
        for name in self.unchanged:
            with contextlib.suppress(OSError):
                os.utime(self.folder / FILE_NAMES[name])
        if done:
            _fsync_folder(self.folder)
        changed = dict.fromkeys(self.unchanged, False) | dict.fromkeys(done, True)
        self.temps = {}
        return changed


def stage(folder: Path, files: Mapping[str, bytes]) -> Staged:
    """Write and fsync every changed file of a run to a temp file beside the live one, renaming none.

    All or nothing: when one file cannot be written (a full disk), every temp file is removed, no live file
    is touched, and the PublishError names the file that failed."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = Staged(folder=folder, temps={}, unchanged=[])
    for name, data in files.items():
        if read_current(folder, name) == data:
            staged.unchanged.append(name)
            continue
        try:
            staged.temps[name] = _write_temp(folder, FILE_NAMES[name], data)
        except OSError as exc:
            staged.discard()
            raise SnapshotWriteError(
                folder, f"cannot write {FILE_NAMES[name]}: {exc.strerror or exc}; no file was renamed"
            ) from exc
    return staged
