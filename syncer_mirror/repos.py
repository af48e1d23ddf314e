"""The mirror's repo store: repo folders under a root, their files, commits, metadata and renames.

Data layout: ``<root>/<org>/<name>/`` holds the repo's files; an optional ``_repo.json`` overrides
metadata (``sha``, ``createdAt``, ``lastModified``, ``gated``, ``private``, ``pipeline_tag``, ``tags``,
``library_name``, ``renamed_from``, ``revisions``). Files and folders whose name starts with ``_`` are
never served; folders whose name starts with ``.`` are skipped. Repos are scanned lazily, on the first
request that needs them, and the scan is cached until a file's size, mtime or inode changes (files
written in the last two seconds are re-hashed on each request, as git does with "racy" index entries,
so that same-size edits within one mtime tick are seen).

Nothing outside the root's real path is ever read: a symlink (a file, a repo or an org folder) that
resolves outside the root is treated as absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["DEFAULT_CREATED_AT", "Repo", "RepoFile", "RepoStore", "git_blob_sha1", "valid_repo_id"]

DEFAULT_CREATED_AT = "2025-01-01T00:00:00.000Z"
_RACY_NS = 2_000_000_000  # files modified less than this before a scan are re-hashed on the next request
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RENAMES_TTL = 1.0  # seconds a full rename index is trusted (unless repo folders were added/moved/removed)
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_META_FILE = "_repo.json"


def valid_repo_id(repo_id: str) -> bool:
    """``<org>/<name>``, each part a Hub-style name."""
    parts = repo_id.split("/")
    return len(parts) == 2 and all(_NAME_RE.fullmatch(p) for p in parts)


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (what the Hub sends as ``ETag`` / ``oid`` for non-LFS files)."""
    h = hashlib.sha1(b"blob %d\x00" % len(data), usedforsecurity=False)
    h.update(data)
    return h.hexdigest()


def _iso(ns: int) -> str:
    dt = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _valid_iso(value: object) -> str | None:
    if not isinstance(value, str) or not value.endswith("Z"):
        return None
    try:
        datetime.fromisoformat(value[:-1])
    except ValueError:
        return None
    return value


@dataclass(frozen=True)
class RepoFile:
    path: str  # posix path inside the repo
    abspath: Path
    size: int
    oid: str  # git blob sha1


@dataclass(frozen=True)
class Repo:
    id: str
    sha: str
    created_at: str
    last_modified: str
    gated: bool | str
    private: bool
    pipeline_tag: str | None
    tags: tuple[str, ...]
    library_name: str | None
    renamed_from: tuple[str, ...]
    revisions: Mapping[str, str]
    files: Mapping[str, RepoFile]  # sorted by path
    config: Mapping[str, object] | None

    def resolve_revision(self, rev: str) -> str | None:
        """The commit sha a revision names, or None if the repo has no such revision."""
        if rev in ("main", self.sha):
            return self.sha
        if rev in self.revisions:
            return self.revisions[rev]
        if rev in self.revisions.values():
            return rev
        return None


_Signature = tuple[tuple[str, int, int, int], ...]  # (relpath, size, mtime_ns, inode) per file


@dataclass
class _CacheEntry:
    signature: _Signature
    scanned_ns: int
    newest_mtime_ns: int
    repo: Repo


class RepoStore:
    """Lazily scanned, cached view of ``<root>/<org>/<name>/`` repos."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        self._lock = threading.Lock()
        self._cache: dict[str, _CacheEntry] = {}
        self._meta_cache: dict[str, tuple[tuple[int, int, int], dict[str, object]]] = {}
        self._renames: dict[str, str] = {}  # old id -> canonical id
        self._renames_built = -1e9  # time.monotonic() of the last full rebuild
        self._renames_sig: tuple[tuple[str, int], ...] = ()

    # -- ids ---------------------------------------------------------------------------------------

    valid_id = staticmethod(valid_repo_id)

    # -- confinement -------------------------------------------------------------------------------

    def inside(self, path: str | Path) -> bool:
        """Whether ``path``'s real path (every symlink resolved) is the root or below it."""
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(self._real_root.rstrip(os.sep) + os.sep)

    def read_bytes(self, path: str | Path) -> bytes:
        """The bytes of a file inside the root; OSError if it is unreadable or resolves outside the root."""
        real = os.path.realpath(path)
        if not self.inside(real):
            raise PermissionError(f"{path} resolves outside the mirror root")
        # O_NOFOLLOW: a symlink swapped in after the check is refused, not followed.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def _read_meta_bytes(self, path: str) -> bytes:
        """Like ``read_bytes``, without resolving the path when its last part is no symlink (the common case)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return self.read_bytes(path)  # a symlink (ELOOP) or missing: the careful way
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def _entry_ok(self, e: os.DirEntry[str]) -> bool:
        return not e.is_symlink() or self.inside(e.path)

    def _folder(self, repo_id: str) -> str | None:
        """The repo's folder, or None when the org or repo folder is a symlink resolving outside the root.
        (Plain strings, not pathlib: a listing of 500 repos calls this 500 times.)"""
        root = os.fspath(self.root)
        org_path = os.path.join(root, repo_id.split("/", maxsplit=1)[0])
        folder = os.path.join(root, repo_id)
        if (os.path.islink(org_path) or os.path.islink(folder)) and not self.inside(folder):
            return None
        return folder

    # -- ids ---------------------------------------------------------------------------------------

    def _dirs(self, folder: Path) -> list[str]:
        try:
            with os.scandir(folder) as it:
                return sorted(
                    e.name
                    for e in it
                    if _NAME_RE.fullmatch(e.name) and e.is_dir(follow_symlinks=True) and self._entry_ok(e)
                )
        except OSError:
            return []

    def authors(self) -> list[str]:
        return self._dirs(self.root)

    def ids(self, author: str | None = None) -> list[str]:
        """All repo ids (optionally of one author), sorted. Only lists folders: no repo is scanned."""
        authors = [author] if author is not None else self.authors()
        out: list[str] = []
        for org in authors:
            if not _NAME_RE.fullmatch(org):
                continue
            out.extend(f"{org}/{name}" for name in self._dirs(self.root / org))
        out.sort()
        return out

    # -- metadata ----------------------------------------------------------------------------------

    def _read_meta(self, folder: Path) -> dict[str, object]:
        path = folder / _META_FILE
        try:
            st = path.stat()
            if path.is_symlink() and not self.inside(path):
                return {}
        except OSError:
            return {}
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        cached = self._meta_cache.get(str(path))
        if cached is not None and cached[0] == key and time.time_ns() - st.st_mtime_ns > _RACY_NS:
            return cached[1]
        try:
            loaded = json.loads(self.read_bytes(path))
        except (OSError, ValueError):
            loaded = {}
        meta: dict[str, object] = loaded if isinstance(loaded, dict) else {}
        with self._lock:
            self._meta_cache[str(path)] = (key, meta)
        return meta

    def _signature(self, folder: str) -> tuple[_Signature, int] | None:
        entries: list[tuple[str, int, int, int]] = []
        newest = 0

        def walk(directory: str, prefix: str) -> None:
            nonlocal newest
            with os.scandir(directory) as it:
                for e in it:
                    if e.name.startswith("_") and e.name != _META_FILE:
                        continue
                    if e.is_dir(follow_symlinks=False):
                        if not e.name.startswith(".") and not e.name.startswith("_"):
                            walk(e.path, f"{prefix}{e.name}/")
                    elif e.is_file(follow_symlinks=True) and self._entry_ok(e):
                        st = e.stat(follow_symlinks=True)
                        entries.append((prefix + e.name, st.st_size, st.st_mtime_ns, st.st_ino))
                        newest = max(newest, st.st_mtime_ns)

        try:
            if not os.path.isdir(folder):
                return None
            walk(folder, "")
        except OSError:
            return None
        entries.sort()
        return tuple(entries), newest

    def get(self, repo_id: str) -> Repo | None:
        """The repo's current state (rescanned if any file changed), or None if there is no such repo."""
        if not self.valid_id(repo_id):
            return None
        folder = self._folder(repo_id)
        sig = self._signature(folder) if folder is not None else None
        if folder is None or sig is None:
            with self._lock:
                self._cache.pop(repo_id, None)
            return None
        signature, newest = sig
        with self._lock:
            entry = self._cache.get(repo_id)
        if entry is not None and entry.signature == signature and entry.scanned_ns - newest > _RACY_NS:
            return entry.repo
        scanned_ns = time.time_ns()
        repo = self._scan(repo_id, Path(folder), signature, newest)
        with self._lock:
            self._cache[repo_id] = _CacheEntry(signature, scanned_ns, newest, repo)
            self._note_renames(repo)
        return repo

    def invalidate(self, repo_id: str) -> None:
        with self._lock:
            self._cache.pop(repo_id, None)

    def _scan(self, repo_id: str, folder: Path, signature: _Signature, newest: int) -> Repo:
        files: dict[str, RepoFile] = {}
        config: dict[str, object] | None = None
        for rel, _size, _mtime, _ino in signature:
            if rel == _META_FILE:
                continue
            abspath = folder / rel
            try:
                data = self.read_bytes(abspath)
            except OSError:
                continue
            files[rel] = RepoFile(rel, abspath, len(data), git_blob_sha1(data))
            if rel == "config.json":
                config = _hub_config(data)
        meta = self._read_meta(folder)

        sha = meta.get("sha")
        if not (isinstance(sha, str) and _SHA_RE.fullmatch(sha)):
            h = hashlib.sha1(b"syncer-mirror-commit\n", usedforsecurity=False)
            for rel, f in files.items():  # already sorted by path
                h.update(f"{rel}\x00{f.oid}\n".encode())
            sha = h.hexdigest()
        created_at = _valid_iso(meta.get("createdAt")) or DEFAULT_CREATED_AT
        last_modified = _valid_iso(meta.get("lastModified")) or (_iso(newest) if newest else created_at)
        gated_raw = meta.get("gated", False)
        gated: bool | str = (
            gated_raw if gated_raw in ("auto", "manual") else ("auto" if gated_raw is True else False)
        )
        tags_raw = meta.get("tags", [])
        tags = tuple(t for t in tags_raw if isinstance(t, str)) if isinstance(tags_raw, list) else ()
        renamed_raw = meta.get("renamed_from", [])
        renamed = (
            tuple(r for r in renamed_raw if isinstance(r, str) and r != repo_id)
            if isinstance(renamed_raw, list)
            else ()
        )
        revisions_raw = meta.get("revisions", {})
        revisions = (
            {k: v for k, v in revisions_raw.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(revisions_raw, dict)
            else {}
        )
        pipeline_tag = meta.get("pipeline_tag")
        library_name = meta.get("library_name")
        return Repo(
            id=repo_id,
            sha=sha,
            created_at=created_at,
            last_modified=last_modified,
            gated=gated,
            private=meta.get("private") is True,
            pipeline_tag=pipeline_tag if isinstance(pipeline_tag, str) else None,
            tags=tags,
            library_name=library_name if isinstance(library_name, str) else None,
            renamed_from=renamed,
            revisions=revisions,
            files=files,
            config=config,
        )

    def renamed_to(self, old_id: str) -> str | None:
        """The canonical id of a repo that lists ``old_id`` in its ``renamed_from``, if any.

        Only called when ``old_id`` is not a repo. The index of renames is rebuilt (reading every
        ``_repo.json``; about 50 ms for 10,000 repos) at most once a second, or at once when a repo folder was
        added, moved or removed; a repo rescanned by a request updates its own entries immediately.
        """
        now = time.monotonic()
        org_sig = self._org_signature()
        with self._lock:
            fresh = now - self._renames_built < _RENAMES_TTL and org_sig == self._renames_sig
            canonical = self._renames.get(old_id)
        if not fresh:
            canonical = self._rebuild_renames(now, org_sig).get(old_id)
        if canonical is None:
            return None
        # Confirm against the canonical repo's current _repo.json (it may have changed since the index was built).
        renamed = self._read_meta(self.root / canonical).get("renamed_from")
        if isinstance(renamed, list) and old_id in renamed:
            return canonical
        return self._rebuild_renames(now, org_sig).get(old_id)

    def _org_signature(self) -> tuple[tuple[str, int], ...]:
        out: list[tuple[str, int]] = []
        try:
            out.append(("", os.stat(self.root).st_mtime_ns))
            with os.scandir(self.root) as it:
                for e in it:
                    if _NAME_RE.fullmatch(e.name) and e.is_dir():
                        out.append((e.name, e.stat().st_mtime_ns))
        except OSError:
            pass
        out.sort()
        return tuple(out)

    def _rebuild_renames(self, now: float, org_sig: tuple[tuple[str, int], ...]) -> dict[str, str]:
        index: dict[str, str] = {}
        for org in self.authors():
            org_path = os.path.join(self.root, org)
            try:
                with os.scandir(org_path) as it:
                    names = [e.name for e in it if _NAME_RE.fullmatch(e.name) and self._entry_ok(e)]
            except OSError:
                continue
            for name in sorted(names):
                try:
                    meta = json.loads(self._read_meta_bytes(os.path.join(org_path, name, _META_FILE)))
                except (OSError, ValueError):
                    continue
                renamed = meta.get("renamed_from") if isinstance(meta, dict) else None
                if isinstance(renamed, list):
                    for old in renamed:
                        if isinstance(old, str) and old != f"{org}/{name}":
                            index.setdefault(old, f"{org}/{name}")
        with self._lock:
            self._renames, self._renames_built, self._renames_sig = index, now, org_sig
        return index

    def _note_renames(self, repo: Repo) -> None:
        """Keep the rename index in step with a repo that was just (re)scanned. Caller holds the lock."""
        for old in [k for k, v in self._renames.items() if v == repo.id and k not in repo.renamed_from]:
            del self._renames[old]
        for old in repo.renamed_from:
            self._renames.setdefault(old, repo.id)


def _hub_config(data: bytes) -> dict[str, object] | None:
    """What the Hub exposes of config.json in ``config``: ``architectures`` and ``model_type`` only."""
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):  # a hostile config must not take the mirror down
        return None
    if not isinstance(parsed, dict):
        return None
    out: dict[str, object] = {}
    for key in ("architectures", "model_type"):
        if key in parsed:
            out[key] = parsed[key]
    return out
