"""A small Hugging Face Hub-compatible HTTP server that serves model repos from a folder.

Used by the tests, the demo and the benchmarks, and as a read-only mirror for air-gapped clusters.
Stdlib only. It answers what ``huggingface_hub`` 2.x sends (see ``/work/shared/notes/huggingface-hub-2x.md``):

* ``GET /api/models/{org}/{name}`` and ``.../revision/{rev}`` (model_info, with ``?expand=``),
* ``GET /api/models?author=&search=&expand=&limit=`` (list_models; pages linked by an absolute ``Link``),
* ``GET /api/models/{org}/{name}/tree/{rev}[/{path}]`` (list_repo_files / list_repo_tree),
* ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}`` (hf_hub_download, with ``Range``),

plus a control API under ``/_mirror/`` (request log, reset, fault injection) for tests.

Data layout: ``<root>/<org>/<name>/`` holds the repo's files; an optional ``_repo.json`` overrides
metadata (``sha``, ``createdAt``, ``lastModified``, ``gated``, ``private``, ``pipeline_tag``, ``tags``,
``library_name``, ``renamed_from``, ``revisions``). Files and folders whose name starts with ``_`` are
never served; folders whose name starts with ``.`` are skipped. Repos are scanned lazily, on the first
request that needs them, and the scan is cached until a file's size, mtime or inode changes (files
written in the last two seconds are re-hashed on each request, as git does with "racy" index entries,
so that same-size edits within one mtime tick are seen).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import mimetypes
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = ["HubMirror", "main"]

DEFAULT_CREATED_AT = "2025-01-01T00:00:00.000Z"
MAX_PAGE_SIZE = 1000
_LOG_LIMIT = 200_000  # request-log entries kept (oldest dropped first) so a long-running mirror stays bounded
_RACY_NS = 2_000_000_000  # files modified less than this before a scan are re-hashed on the next request
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RENAMES_TTL = 1.0  # seconds a full rename index is trusted (unless repo folders were added/moved/removed)
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_META_FILE = "_repo.json"

# Keys a model_info / list_models answer may hold, in the order the Hub sends them.
_ALL_KEYS = (
    "_id",
    "id",
    "modelId",
    "author",
    "sha",
    "createdAt",
    "lastModified",
    "private",
    "gated",
    "disabled",
    "downloads",
    "likes",
    "tags",
    "pipeline_tag",
    "library_name",
    "config",
    "siblings",
    "usedStorage",
)
_EXPANDABLE = frozenset(_ALL_KEYS) - {"_id", "id", "modelId"}
# What the Hub answers per repo in a list_models page without expand/full.
_LIST_KEYS = (
    "_id",
    "id",
    "modelId",
    "private",
    "downloads",
    "likes",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
)
_FAULT_MODES = frozenset(
    {"status", "hang", "slow_body", "truncate", "not_json", "rate_limit", "reset", "redirect"}
)
_KINDS = frozenset({"api", "resolve", "other"})
_CONTENT_TYPES = {
    ".json": "application/json",
    ".jinja": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
    ".model": "application/octet-stream",
    ".safetensors": "application/octet-stream",
}


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


def _content_type(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


def _object_id(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:24]


# ------------------------------------------------------------------------------------------------
# Repo store
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    path: str  # posix path inside the repo
    abspath: Path
    size: int
    oid: str  # git blob sha1


@dataclass(frozen=True)
class _Repo:
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
    files: Mapping[str, _File]  # sorted by path
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
    repo: _Repo


class _RepoStore:
    """Lazily scanned, cached view of ``<root>/<org>/<name>/`` repos."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._cache: dict[str, _CacheEntry] = {}
        self._meta_cache: dict[str, tuple[tuple[int, int, int], dict[str, object]]] = {}
        self._renames: dict[str, str] = {}  # old id -> canonical id
        self._renames_built = -1e9  # time.monotonic() of the last full rebuild
        self._renames_sig: tuple[tuple[str, int], ...] = ()

    # -- ids ---------------------------------------------------------------------------------------

    @staticmethod
    def valid_id(repo_id: str) -> bool:
        parts = repo_id.split("/")
        return len(parts) == 2 and all(_NAME_RE.fullmatch(p) for p in parts)

    def _dirs(self, folder: Path) -> list[str]:
        try:
            with os.scandir(folder) as it:
                return sorted(
                    e.name for e in it if _NAME_RE.fullmatch(e.name) and e.is_dir(follow_symlinks=True)
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
        except OSError:
            return {}
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        cached = self._meta_cache.get(str(path))
        if cached is not None and cached[0] == key and time.time_ns() - st.st_mtime_ns > _RACY_NS:
            return cached[1]
        try:
            loaded = json.loads(path.read_bytes())
        except (OSError, ValueError):
            loaded = {}
        meta: dict[str, object] = loaded if isinstance(loaded, dict) else {}
        with self._lock:
            self._meta_cache[str(path)] = (key, meta)
        return meta

    def _signature(self, folder: Path) -> tuple[_Signature, int] | None:
        entries: list[tuple[str, int, int, int]] = []
        newest = 0

        def walk(directory: Path, prefix: str) -> None:
            nonlocal newest
            with os.scandir(directory) as it:
                for e in it:
                    if e.name.startswith("_") and e.name != _META_FILE:
                        continue
                    if e.is_dir(follow_symlinks=False):
                        if not e.name.startswith(".") and not e.name.startswith("_"):
                            walk(Path(e.path), f"{prefix}{e.name}/")
                    elif e.is_file(follow_symlinks=True):
                        st = e.stat(follow_symlinks=True)
                        entries.append((prefix + e.name, st.st_size, st.st_mtime_ns, st.st_ino))
                        newest = max(newest, st.st_mtime_ns)

        try:
            if not folder.is_dir():
                return None
            walk(folder, "")
        except OSError:
            return None
        entries.sort()
        return tuple(entries), newest

    def get(self, repo_id: str) -> _Repo | None:
        """The repo's current state (rescanned if any file changed), or None if there is no such repo."""
        if not self.valid_id(repo_id):
            return None
        folder = self.root / repo_id
        sig = self._signature(folder)
        if sig is None:
            with self._lock:
                self._cache.pop(repo_id, None)
            return None
        signature, newest = sig
        with self._lock:
            entry = self._cache.get(repo_id)
        if entry is not None and entry.signature == signature and entry.scanned_ns - newest > _RACY_NS:
            return entry.repo
        scanned_ns = time.time_ns()
        repo = self._scan(repo_id, folder, signature, newest)
        with self._lock:
            self._cache[repo_id] = _CacheEntry(signature, scanned_ns, newest, repo)
            self._note_renames(repo)
        return repo

    def invalidate(self, repo_id: str) -> None:
        with self._lock:
            self._cache.pop(repo_id, None)

    def _scan(self, repo_id: str, folder: Path, signature: _Signature, newest: int) -> _Repo:
        files: dict[str, _File] = {}
        config: dict[str, object] | None = None
        for rel, _size, _mtime, _ino in signature:
            if rel == _META_FILE:
                continue
            abspath = folder / rel
            try:
                data = abspath.read_bytes()
            except OSError:
                continue
            files[rel] = _File(rel, abspath, len(data), git_blob_sha1(data))
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
        return _Repo(
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
                names = os.listdir(org_path)
            except OSError:
                continue
            for name in sorted(names):
                if not _NAME_RE.fullmatch(name):
                    continue
                try:
                    with open(os.path.join(org_path, name, _META_FILE), "rb") as fh:
                        meta = json.loads(fh.read())
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

    def _note_renames(self, repo: _Repo) -> None:
        """Keep the rename index in step with a repo that was just (re)scanned. Caller holds the lock."""
        for old in [k for k, v in self._renames.items() if v == repo.id and k not in repo.renamed_from]:
            del self._renames[old]
        for old in repo.renamed_from:
            self._renames.setdefault(old, repo.id)


def _hub_config(data: bytes) -> dict[str, object] | None:
    """What the Hub exposes of config.json in ``config``: ``architectures`` and ``model_type`` only."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    out: dict[str, object] = {}
    for key in ("architectures", "model_type"):
        if key in parsed:
            out[key] = parsed[key]
    return out


# ------------------------------------------------------------------------------------------------
# Faults
# ------------------------------------------------------------------------------------------------


@dataclass
class _Fault:
    mode: str
    status: int = 503
    error_code: str | None = None
    message: str | None = None
    times: int | None = None  # None: forever
    seconds: float = 3600.0
    delay: float = 0.5
    chunk_size: int | None = None
    kinds: frozenset[str] | None = None
    to: str | None = None

    @classmethod
    def parse(cls, key: str, spec: Mapping[str, object]) -> _Fault:
        mode = spec.get("mode")
        if mode not in _FAULT_MODES:
            raise ValueError(f"fault for {key!r}: unknown mode {mode!r} (one of {sorted(_FAULT_MODES)})")
        fault = cls(mode=str(mode))
        if mode == "rate_limit":
            fault.status = 429
            fault.seconds = 1.0
        if "status" in spec:
            fault.status = _int(spec["status"], "status", key)
            if not 100 <= fault.status <= 599:
                raise ValueError(f"fault for {key!r}: bad status {fault.status}")
        if spec.get("error_code") is not None:
            fault.error_code = str(spec["error_code"])
        if spec.get("message") is not None:
            fault.message = str(spec["message"])
        if spec.get("times") is not None:
            fault.times = _int(spec["times"], "times", key)
        if spec.get("seconds") is not None:
            fault.seconds = _float(spec["seconds"], "seconds", key)
        if spec.get("delay") is not None:
            fault.delay = _float(spec["delay"], "delay", key)
        if spec.get("chunk_size") is not None:
            fault.chunk_size = max(1, _int(spec["chunk_size"], "chunk_size", key))
        kinds = spec.get("kinds")
        if kinds is not None:
            if isinstance(kinds, str):
                kinds = [kinds]
            if not isinstance(kinds, list | tuple) or not set(kinds) <= _KINDS:
                raise ValueError(f"fault for {key!r}: kinds must be a list drawn from {sorted(_KINDS)}")
            fault.kinds = frozenset(cast(Collection[str], kinds))
        if mode == "redirect":
            to = spec.get("to")
            if not isinstance(to, str) or not _RepoStore.valid_id(to):
                raise ValueError(f"fault for {key!r}: redirect needs 'to': '<org>/<name>'")
            fault.to = to
        return fault

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"mode": self.mode}
        for name in ("status", "error_code", "message", "times", "seconds", "delay", "chunk_size", "to"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.kinds is not None:
            out["kinds"] = sorted(self.kinds)
        return out


def _int(value: object, name: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"fault for {key!r}: {name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"fault for {key!r}: {name} must be an integer") from None


def _float(value: object, name: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"fault for {key!r}: {name} must be a number")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"fault for {key!r}: {name} must be a number") from None


# ------------------------------------------------------------------------------------------------
# Responses
# ------------------------------------------------------------------------------------------------


@dataclass
class _Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: object, headers: Mapping[str, str] | None = None) -> _Response:
        hdrs = {"Content-Type": "application/json; charset=utf-8"}
        if headers:
            hdrs.update(headers)
        return cls(status, hdrs, json.dumps(payload, separators=(",", ":")).encode())

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        error_code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Response:
        hdrs: dict[str, str] = {"X-Error-Message": message.encode("ascii", "replace").decode("ascii")}
        if error_code:
            hdrs["X-Error-Code"] = error_code
        if headers:
            hdrs.update(headers)
        return cls.json(status, {"error": message}, hdrs)


@dataclass
class _Request:
    method: str
    path: str  # raw (still percent-encoded) path
    query: str  # raw query string
    kind: str
    repo_id: str | None  # the repo id named by the path (before rename resolution)
    params: list[tuple[str, str]]
    authorized: bool
    host: str
    range: str | None = None

    def param(self, name: str) -> str | None:
        for k, v in self.params:
            if k == name:
                return v
        return None

    def params_all(self, *names: str) -> list[str]:
        return [v for k, v in self.params if k in names]

    def moved_to(self, repo_id: str) -> str:
        """This request's path and query with the repo id replaced (a same-origin relative ``Location``)."""
        parts = self.path.split("/")
        index = 3 if self.kind == "api" else 1
        parts[index : index + 2] = [quote(p, safe="") for p in repo_id.split("/")]
        return "/".join(parts) + (f"?{self.query}" if self.query else "")


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "on", "")


# ------------------------------------------------------------------------------------------------
# The mirror
# ------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    mirror: HubMirror

    def __init__(self, address: tuple[str, int], mirror: HubMirror) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.mirror = mirror
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        """Drop every open (keep-alive) connection, so a stopped mirror really stops answering."""
        with self.connections_lock:
            conns, self.connections = list(self.connections), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class HubMirror:
    """A Hub-compatible server over ``root`` (see the module docstring); a context manager."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        tokens: Collection[str] = (),
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        self.root = Path(root)
        self.host = host
        self.port = port
        self.latency = float(latency)
        self.tokens = frozenset(tokens)
        self.page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        self.store = _RepoStore(self.root)
        self._lock = threading.Lock()
        self._log: deque[dict[str, object]] = deque(maxlen=_LOG_LIMIT)
        self._faults: dict[str, _Fault] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def bind(self) -> HubMirror:
        """Bind the listening socket (so ``url`` is known) without serving yet."""
        if self._server is None:
            self._stopping.clear()
            server = _Server((self.host, self.port), self)
            self._server = server
            host, port = server.server_address[:2]
            host = host.decode() if isinstance(host, bytes) else host
            self._url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        return self

    def start(self) -> HubMirror:
        self.bind()
        if self._thread is None:
            server = self._server
            assert server is not None
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="hub-mirror", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` is called from another thread."""
        self.bind()
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers stuck in "hang" / latency sleeps
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            if thread is not None:
                server.shutdown()
                thread.join(timeout=5)
            server.server_close()
            server.close_connections()

    def __enter__(self) -> HubMirror:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL (still answered after ``stop()``, so tests can point clients at a dead mirror)."""
        if self._url is None:
            raise RuntimeError("mirror is not started")
        return self._url

    # -- control -----------------------------------------------------------------------------------

    def requests(self) -> list[dict[str, object]]:
        """Every request served since the last reset (control requests excluded), oldest first."""
        with self._lock:
            return [dict(e) for e in self._log]

    def reset(self) -> None:
        """Clear the request log and all faults."""
        with self._lock:
            self._log.clear()
            self._faults.clear()

    def set_faults(self, faults: Mapping[str, Mapping[str, object]]) -> None:
        """Replace all faults. Keys are ``"<org>/<name>"`` or ``"*"``; see the module docs for the modes."""
        parsed: dict[str, _Fault] = {}
        for key, spec in faults.items():
            if key != "*" and not _RepoStore.valid_id(key):
                raise ValueError(f"fault key must be '<org>/<name>' or '*', not {key!r}")
            if not isinstance(spec, Mapping):
                raise ValueError(f"fault for {key!r} must be an object")
            parsed[key] = _Fault.parse(key, spec)
        with self._lock:
            self._faults = parsed

    def faults(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {k: f.describe() for k, f in self._faults.items()}

    def _record(self, req: _Request, status: int) -> None:
        entry: dict[str, object] = {
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "status": status,
            "kind": req.kind,
        }
        with self._lock:
            self._log.append(entry)

    def _take_fault(self, req: _Request) -> _Fault | None:
        """The fault for this request (a repo's own fault wins over ``"*"``); consumes one use."""
        with self._lock:
            for key in (req.repo_id, "*"):
                if key is None:
                    continue
                fault = self._faults.get(key)
                if fault is None or (fault.kinds is not None and req.kind not in fault.kinds):
                    continue
                if fault.mode == "not_json" and req.kind != "api":
                    continue
                if fault.mode in ("truncate", "slow_body") and req.method == "HEAD":
                    continue  # no body to cut or slow down: leave the use for the GET
                if fault.mode == "redirect" and req.repo_id is None:
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization or not self.tokens:
            return False
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.tokens

    # -- routing -----------------------------------------------------------------------------------

    def _lookup(self, req: _Request, repo_id: str) -> _Repo | _Response:
        """The repo, or the answer to send instead (not found, rename redirect, private without token)."""
        repo = self.store.get(repo_id)
        if repo is None:
            canonical = self.store.renamed_to(repo_id) if self.store.valid_id(repo_id) else None
            if canonical is not None:
                return _Response.json(
                    307,
                    {"error": f"Repository renamed to {canonical}"},
                    {"Location": req.moved_to(canonical)},
                )
            return _Response.error(404, "Repository not found", "RepoNotFound")
        if repo.private and not req.authorized:
            return _Response.error(401, "Repository not found", "RepoNotFound")
        return repo

    def route(self, req: _Request) -> _Response:
        parts = req.path.split("/")[1:]  # raw segments (still quoted)
        if req.kind == "api":
            return self._route_api(req, parts)
        if req.kind == "resolve":
            return self._route_resolve(req, parts)
        return _Response.error(404, "Not Found")

    def _route_api(self, req: _Request, parts: list[str]) -> _Response:
        if req.method not in ("GET", "HEAD"):
            return _Response.error(405, "Method not allowed")
        if parts[:2] == ["api", "models"] and len(parts) == 2:
            return self._list_models(req)
        if parts[:2] != ["api", "models"] or len(parts) < 4 or req.repo_id is None:
            return _Response.error(404, "Not Found")
        found = self._lookup(req, req.repo_id)
        if isinstance(found, _Response):
            return found
        repo = found
        rest = parts[4:]
        if not rest:
            return self._model_info(req, repo, repo.sha)
        if rest[0] == "revision" and len(rest) >= 2:
            rev = unquote("/".join(rest[1:]))
            sha = repo.resolve_revision(rev)
            if sha is None:
                return _Response.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            return self._model_info(req, repo, sha)
        if rest[0] == "tree" and len(rest) >= 2:
            rev = unquote(rest[1])
            sha = repo.resolve_revision(rev)
            if sha is None:
                return _Response.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            sub = unquote("/".join(rest[2:])).strip("/")
            return self._tree(req, repo, sub)
        return _Response.error(404, "Not Found")

    def _fields(self, repo: _Repo, sha: str, keys: Collection[str], *, blobs: bool) -> dict[str, object]:
        org = repo.id.split("/")[0]
        out: dict[str, object] = {}
        for key in _ALL_KEYS:
            if key not in keys:
                continue
            value: object
            if key == "_id":
                value = _object_id("model:" + repo.id)
            elif key in ("id", "modelId"):
                value = repo.id
            elif key == "author":
                value = org
            elif key == "sha":
                value = sha
            elif key == "createdAt":
                value = repo.created_at
            elif key == "lastModified":
                value = repo.last_modified
            elif key == "private":
                value = repo.private
            elif key == "gated":
                value = repo.gated
            elif key == "disabled":
                value = False
            elif key in ("downloads", "likes"):
                value = 0
            elif key == "tags":
                value = list(repo.tags)
            elif key == "pipeline_tag":
                if repo.pipeline_tag is None:
                    continue
                value = repo.pipeline_tag
            elif key == "library_name":
                if repo.library_name is None:
                    continue
                value = repo.library_name
            elif key == "config":
                if repo.config is None:
                    continue
                value = dict(repo.config)
            elif key == "siblings":
                value = [
                    {"rfilename": f.path, "size": f.size, "blobId": f.oid} if blobs else {"rfilename": f.path}
                    for f in repo.files.values()
                ]
            elif key == "usedStorage":
                value = sum(f.size for f in repo.files.values())
            else:  # pragma: no cover - _ALL_KEYS is exhaustive
                continue
            out[key] = value
        return out

    def _keys_for(self, req: _Request, default: Collection[str]) -> Collection[str]:
        expand = req.params_all("expand", "expand[]")
        if expand:
            return {"_id", "id"} | ({e for e in expand} & _EXPANDABLE)
        return default

    def _model_info(self, req: _Request, repo: _Repo, sha: str) -> _Response:
        keys = self._keys_for(req, _ALL_KEYS)
        return _Response.json(200, self._fields(repo, sha, keys, blobs=_truthy(req.param("blobs"))))

    def _tree(self, req: _Request, repo: _Repo, sub: str) -> _Response:
        recursive = _truthy(req.param("recursive"))
        prefix = f"{sub}/" if sub else ""
        if sub and sub not in repo.files and not any(p.startswith(prefix) for p in repo.files):
            return _Response.error(
                404, f"Entry not found: {sub}", "EntryNotFound", {"X-Repo-Commit": repo.sha}
            )
        if sub in repo.files:
            f = repo.files[sub]
            return _Response.json(200, [{"type": "file", "oid": f.oid, "size": f.size, "path": f.path}])
        entries: list[dict[str, object]] = []
        dirs: set[str] = set()
        for path, f in repo.files.items():
            if not path.startswith(prefix):
                continue
            rel = path[len(prefix) :]
            segments = rel.split("/")
            for i in range(1, len(segments)):
                d = prefix + "/".join(segments[:i])
                if (recursive or i == 1) and d not in dirs:
                    dirs.add(d)
                    entries.append(
                        {
                            "type": "directory",
                            "oid": _object_id("tree:" + repo.sha + d) + "0" * 16,
                            "size": 0,
                            "path": d,
                        }
                    )
            if recursive or len(segments) == 1:
                entries.append({"type": "file", "oid": f.oid, "size": f.size, "path": path})
        entries.sort(key=lambda e: str(e["path"]))
        return _Response.json(200, entries)

    def _list_models(self, req: _Request) -> _Response:
        author = req.param("author")
        search = (req.param("search") or "").lower()
        tag_filters = req.params_all("filter")
        pipeline_tag = req.param("pipeline_tag")
        gated_param = req.param("gated")
        try:
            limit = int(req.param("limit") or self.page_size)
        except ValueError:
            return _Response.error(400, "limit must be an integer")
        page_size = max(1, min(limit, self.page_size))
        cursor = req.param("cursor")
        after = ""
        if cursor:
            try:
                after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            except ValueError:
                return _Response.error(400, "Invalid cursor")
        full = _truthy(req.param("full"))
        default_keys: set[str] = set(_ALL_KEYS) if full else set(_LIST_KEYS)
        if _truthy(req.param("config")):
            default_keys.add("config")
        keys = self._keys_for(req, default_keys)

        def matches() -> Iterator[_Repo]:
            for repo_id in self.store.ids(author):
                if repo_id <= after or (search and search not in repo_id.lower()):
                    continue
                repo = self.store.get(repo_id)
                if repo is None or (repo.private and not req.authorized):
                    continue
                if pipeline_tag is not None and repo.pipeline_tag != pipeline_tag:
                    continue
                if tag_filters and not all(t in repo.tags or t == repo.library_name for t in tag_filters):
                    continue
                if gated_param is not None and bool(repo.gated) != _truthy(gated_param):
                    continue
                yield repo

        page: list[dict[str, object]] = []
        has_more = False
        last_id = ""
        for repo in matches():
            if len(page) == page_size:
                has_more = True
                break
            page.append(self._fields(repo, repo.sha, keys, blobs=False))
            last_id = repo.id
        headers: dict[str, str] = {}
        if has_more:
            params = [(k, v) for k, v in req.params if k != "cursor"]
            params.append(("cursor", base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")))
            headers["Link"] = f'<http://{req.host}/api/models?{urlencode(params)}>; rel="next"'
        return _Response.json(200, page, headers)

    def _route_resolve(self, req: _Request, parts: list[str]) -> _Response:
        if req.method not in ("GET", "HEAD"):
            return _Response.error(405, "Method not allowed")
        assert req.repo_id is not None
        found = self._lookup(req, req.repo_id)
        if isinstance(found, _Response):
            return found
        repo = found
        if repo.gated and not req.authorized:
            return _Response.error(
                401,
                f"Access to model {repo.id} is restricted. You must have access to it and be authenticated "
                "to access it. Please log in.",
                "GatedRepo",
            )
        rev = unquote(parts[3])
        sha = repo.resolve_revision(rev)
        if sha is None:
            return _Response.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        filename = unquote("/".join(parts[4:]))
        segments = filename.split("/")
        f = repo.files.get(filename)
        if f is None or any(s in ("", ".", "..") or s.startswith("_") for s in segments):
            return _Response.error(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
        try:
            data = f.abspath.read_bytes()
        except OSError:
            return _Response.error(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
        oid = git_blob_sha1(data)
        if oid != f.oid:
            # Changed since the scan: rescan so the commit, ETag and body agree.
            self.store.invalidate(repo.id)
            return self._route_resolve(req, parts)
        headers = {
            "Content-Type": _content_type(filename),
            "ETag": f'"{oid}"',
            "X-Repo-Commit": sha,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'inline; filename="{os.path.basename(filename)}"',
            "Cache-Control": "public, max-age=60",
        }
        range_header = req.range
        if range_header and req.method == "GET":
            span = _parse_range(range_header, len(data))
            if span is None:
                return _Response(416, {**headers, "Content-Range": f"bytes */{len(data)}"}, b"")
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return _Response(206, headers, data[start : end + 1])
        return _Response(200, headers, data)


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` -> inclusive (start, end); None if unsatisfiable."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return None
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


# ------------------------------------------------------------------------------------------------
# HTTP handler
# ------------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "syncer-hub-mirror/1"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's per-request stderr line; the mirror keeps its own log."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing ----------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            return b""
        return self.rfile.read(n) if n > 0 else b""

    def _dispatch(self) -> None:
        mirror = self.server.mirror
        split = urlsplit(self.path)
        raw_path = split.path or "/"
        body = self._read_body()
        try:
            if raw_path.startswith("/_mirror/") or raw_path == "/_mirror":
                self._write(self._control(raw_path, body))
                return
            req = self._make_request(raw_path, split.query)
            self._serve(mirror, req)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _make_request(self, raw_path: str, query: str) -> _Request:
        parts = raw_path.split("/")[1:]
        kind = "other"
        repo_id: str | None = None
        if parts and parts[0] == "api":
            kind = "api"
            if len(parts) >= 4 and parts[1] == "models":
                repo_id = f"{unquote(parts[2])}/{unquote(parts[3])}"
        elif len(parts) >= 5 and parts[2] == "resolve":
            kind = "resolve"
            repo_id = f"{unquote(parts[0])}/{unquote(parts[1])}"
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return _Request(
            method=self.command,
            path=raw_path,
            query=query,
            kind=kind,
            repo_id=repo_id,
            params=parse_qsl(query, keep_blank_values=True),
            authorized=self.server.mirror._authorized(self.headers.get("Authorization")),
            host=host,
            range=self.headers.get("Range"),
        )

    def _serve(self, mirror: HubMirror, req: _Request) -> None:
        # The log entry is written before the answer, so a client that has its answer always finds it logged.
        mirror._sleep(mirror.latency)
        fault = mirror._take_fault(req)
        if fault is not None and fault.mode == "hang":
            mirror._sleep(fault.seconds)
            if mirror._stopping.is_set():
                mirror._record(req, 0)
                self.close_connection = True
                return
            fault = None
        if fault is not None and fault.mode == "reset":
            mirror._record(req, 0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        response = self._faulted_response(req, fault) if fault is not None else None
        if response is None:
            try:
                response = mirror.route(req)
            except Exception as e:  # a bug or an unreadable file must not kill the connection silently
                traceback.print_exc(file=sys.stderr)
                response = _Response.error(500, f"Internal error: {type(e).__name__}")
        mirror._record(req, response.status)
        if fault is not None and fault.mode in ("slow_body", "truncate"):
            self._write(response, head=req.method == "HEAD", fault=fault)
        else:
            self._write(response, head=req.method == "HEAD")

    def _faulted_response(self, req: _Request, fault: _Fault) -> _Response | None:
        if fault.mode == "status":
            return _Response.error(
                fault.status, fault.message or f"Injected error {fault.status}", fault.error_code
            )
        if fault.mode == "rate_limit":
            seconds = max(0, round(fault.seconds))
            resource = "resolvers" if req.kind == "resolve" else "api"
            return _Response.error(
                fault.status,
                fault.message or "You have exceeded our rate limit.",
                fault.error_code,
                {
                    "RateLimit": f'"{resource}";r=0;t={seconds}',
                    "RateLimit-Policy": f'"fixed window";"{resource}";q=500;w=300',
                    "Retry-After": str(seconds),
                },
            )
        if fault.mode == "not_json":
            return _Response(
                200,
                {"Content-Type": "text/html; charset=utf-8"},
                b"<!DOCTYPE html><html><body><h1>Welcome to the proxy</h1></body></html>",
            )
        if fault.mode == "redirect" and fault.to is not None and req.repo_id is not None:
            return _Response.json(
                307, {"error": f"Redirected to {fault.to}"}, {"Location": req.moved_to(fault.to)}
            )
        return None  # slow_body / truncate: normal response, written specially

    def _write(self, response: _Response, *, head: bool = False, fault: _Fault | None = None) -> None:
        body = response.body
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if fault is not None and fault.mode == "truncate" and not head and body:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        if head or not body:
            self.wfile.flush()
            return
        if fault is None:
            self.wfile.write(body)
        elif fault.mode == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        else:  # slow_body
            chunk = fault.chunk_size or max(1, -(-len(body) // 8))
            mirror = self.server.mirror
            for i in range(0, len(body), chunk):
                if i:
                    mirror._sleep(fault.delay)
                self.wfile.write(body[i : i + chunk])
                self.wfile.flush()
        self.wfile.flush()

    def _control(self, raw_path: str, body: bytes) -> _Response:
        mirror = self.server.mirror
        what = raw_path[len("/_mirror/") :].strip("/")
        method = self.command
        if what == "requests" and method == "GET":
            return _Response.json(200, mirror.requests())
        if what == "reset" and method == "POST":
            mirror.reset()
            return _Response.json(200, {"ok": True})
        if what == "faults" and method == "GET":
            return _Response.json(200, mirror.faults())
        if what == "faults" and method in ("PUT", "POST"):
            try:
                payload = json.loads(body or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError("faults must be a JSON object")
                mirror.set_faults(payload)
            except ValueError as e:
                return _Response.error(400, str(e))
            return _Response.json(200, {"ok": True})
        if what == "health" and method == "GET":
            return _Response.json(200, {"ok": True})
        return _Response.error(404, "Unknown control endpoint")


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m syncer.mirror",
        description="Serve model repos from a folder as a Hub-compatible mirror.",
    )
    parser.add_argument("root", type=Path, help="folder holding <org>/<name>/ repos")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept before every answer")
    parser.add_argument("--port-file", type=Path, help="write the mirror URL to this file once listening")
    parser.add_argument("--token", action="append", default=[], help="token granting access to gated repos")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"error: {args.root} is not a directory", file=sys.stderr)
        return 2

    mirror = HubMirror(args.root, host=args.host, port=args.port, latency=args.latency, tokens=args.token)
    mirror.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if args.port_file is not None:
            tmp = args.port_file.with_name(args.port_file.name + ".tmp")
            tmp.write_text(mirror.url + "\n")
            os.replace(tmp, args.port_file)
        print(f"mirror listening on {mirror.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        mirror.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
