"""The Hub-compatible answers: what ``huggingface_hub`` 2.x sends and what the Hub answers.

* ``GET /api/models/{org}/{name}`` and ``.../revision/{rev}`` (model_info, with ``?expand=``),
* ``GET /api/models?author=&search=&expand=&limit=`` (list_models; pages linked by an absolute ``Link``),
* ``GET /api/models/{org}/{name}/tree/{rev}[/{path}]`` (list_repo_files / list_repo_tree),
* ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}`` (hf_hub_download, with ``Range``).

No sockets here: a ``Request`` in, a ``Response`` out (see ``syncer_mirror.server`` for the HTTP side).
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlencode

from syncer_mirror.repos import Repo, RepoStore, git_blob_sha1

__all__ = ["MAX_PAGE_SIZE", "Request", "Response", "Router"]

MAX_PAGE_SIZE = 1000

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
_CONTENT_TYPES = {
    ".json": "application/json",
    ".jinja": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
    ".model": "application/octet-stream",
    ".safetensors": "application/octet-stream",
}


def _content_type(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


def _object_id(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:24]


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: object, headers: Mapping[str, str] | None = None) -> Response:
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
    ) -> Response:
        hdrs: dict[str, str] = {"X-Error-Message": message.encode("ascii", "replace").decode("ascii")}
        if error_code:
            hdrs["X-Error-Code"] = error_code
        if headers:
            hdrs.update(headers)
        return cls.json(status, {"error": message}, hdrs)


@dataclass
class Request:
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


class Router:
    """Answers Hub API and resolve requests from a ``RepoStore``."""

    def __init__(self, store: RepoStore, *, page_size: int = MAX_PAGE_SIZE) -> None:
        self.store = store
        self.page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        # A listing's JSON per repo, kept while the store hands back the same (unchanged) Repo object:
        # a listing of 500 repos then costs their stat walks, not 500 dicts encoded again.
        self._listed: dict[str, tuple[Repo, frozenset[str], bytes]] = {}

    def lookup(self, req: Request, repo_id: str) -> Repo | Response:
        """The repo, or the answer to send instead (not found, rename redirect, private without token)."""
        repo = self.store.get(repo_id)
        if repo is None:
            canonical = self.store.renamed_to(repo_id) if self.store.valid_id(repo_id) else None
            if canonical is not None:
                return Response.json(
                    307,
                    {"error": f"Repository renamed to {canonical}"},
                    {"Location": req.moved_to(canonical)},
                )
            return Response.error(404, "Repository not found", "RepoNotFound")
        if repo.private and not req.authorized:
            return Response.error(401, "Repository not found", "RepoNotFound")
        return repo

    def route(self, req: Request) -> Response:
        parts = req.path.split("/")[1:]  # raw segments (still quoted)
        if req.kind == "api":
            return self._route_api(req, parts)
        if req.kind == "resolve":
            return self._route_resolve(req, parts)
        return Response.error(404, "Not Found")

    def _route_api(self, req: Request, parts: list[str]) -> Response:
        if req.method not in ("GET", "HEAD"):
            return Response.error(405, "Method not allowed")
        if parts[:2] == ["api", "models"] and len(parts) == 2:
            return self._list_models(req)
        if parts[:2] != ["api", "models"] or len(parts) < 4 or req.repo_id is None:
            return Response.error(404, "Not Found")
        found = self.lookup(req, req.repo_id)
        if isinstance(found, Response):
            return found
        repo = found
        rest = parts[4:]
        if not rest:
            return self._model_info(req, repo, repo.sha)
        if rest[0] == "revision" and len(rest) >= 2:
            rev = unquote("/".join(rest[1:]))
            sha = repo.resolve_revision(rev)
            if sha is None:
                return Response.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            return self._model_info(req, repo, sha)
        if rest[0] == "tree" and len(rest) >= 2:
            rev = unquote(rest[1])
            sha = repo.resolve_revision(rev)
            if sha is None:
                return Response.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            sub = unquote("/".join(rest[2:])).strip("/")
            return self._tree(req, repo, sub)
        return Response.error(404, "Not Found")

    def _fields(self, repo: Repo, sha: str, keys: Collection[str], *, blobs: bool) -> dict[str, object]:
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

    def _keys_for(self, req: Request, default: Collection[str]) -> Collection[str]:
        expand = req.params_all("expand", "expand[]")
        if expand:
            return {"_id", "id"} | ({e for e in expand} & _EXPANDABLE)
        return default

    def _model_info(self, req: Request, repo: Repo, sha: str) -> Response:
        keys = self._keys_for(req, _ALL_KEYS)
        return Response.json(200, self._fields(repo, sha, keys, blobs=_truthy(req.param("blobs"))))

    def _tree(self, req: Request, repo: Repo, sub: str) -> Response:
        recursive = _truthy(req.param("recursive"))
        prefix = f"{sub}/" if sub else ""
        if sub and sub not in repo.files and not any(p.startswith(prefix) for p in repo.files):
            return Response.error(
                404, f"Entry not found: {sub}", "EntryNotFound", {"X-Repo-Commit": repo.sha}
            )
        if sub in repo.files:
            f = repo.files[sub]
            return Response.json(200, [{"type": "file", "oid": f.oid, "size": f.size, "path": f.path}])
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
        return Response.json(200, entries)

    def _list_models(self, req: Request) -> Response:
        author = req.param("author")
        search = (req.param("search") or "").lower()
        tag_filters = req.params_all("filter")
        pipeline_tag = req.param("pipeline_tag")
        gated_param = req.param("gated")
        try:
            limit = int(req.param("limit") or self.page_size)
        except ValueError:
            return Response.error(400, "limit must be an integer")
        page_size = max(1, min(limit, self.page_size))
        cursor = req.param("cursor")
        after = ""
        if cursor:
            try:
                after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            except ValueError:
                return Response.error(400, "Invalid cursor")
        full = _truthy(req.param("full"))
        default_keys: set[str] = set(_ALL_KEYS) if full else set(_LIST_KEYS)
        if _truthy(req.param("config")):
            default_keys.add("config")
        keys = self._keys_for(req, default_keys)

        def matches() -> Iterator[Repo]:
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

        page: list[bytes] = []
        has_more = False
        last_id = ""
        key_set = frozenset(keys)
        for repo in matches():
            if len(page) == page_size:
                has_more = True
                break
            cached = self._listed.get(repo.id)
            if cached is None or cached[0] is not repo or cached[1] != key_set:
                body = json.dumps(self._fields(repo, repo.sha, keys, blobs=False), separators=(",", ":"))
                cached = (repo, key_set, body.encode())
                self._listed[repo.id] = cached
            page.append(cached[2])
            last_id = repo.id
        headers: dict[str, str] = {}
        if has_more:
            params = [(k, v) for k, v in req.params if k != "cursor"]
            params.append(("cursor", base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")))
            headers["Link"] = f'<http://{req.host}/api/models?{urlencode(params)}>; rel="next"'
        return Response(
            200, {"Content-Type": "application/json; charset=utf-8", **headers}, b"[" + b",".join(page) + b"]"
        )

    def _route_resolve(self, req: Request, parts: list[str]) -> Response:
        if req.method not in ("GET", "HEAD"):
            return Response.error(405, "Method not allowed")
        assert req.repo_id is not None
        found = self.lookup(req, req.repo_id)
        if isinstance(found, Response):
            return found
        repo = found
        if repo.gated and not req.authorized:
            return Response.error(
                401,
                f"Access to model {repo.id} is restricted. You must have access to it and be authenticated "
                "to access it. Please log in.",
                "GatedRepo",
            )
        rev = unquote(parts[3])
        sha = repo.resolve_revision(rev)
        if sha is None:
            return Response.error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        filename = unquote("/".join(parts[4:]))
        segments = filename.split("/")
        f = repo.files.get(filename)
        if f is None or any(s in ("", ".", "..") or s.startswith("_") for s in segments):
            return Response.error(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
        try:
            data = self.store.read_bytes(f.abspath)
        except OSError:
            return Response.error(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})
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
                return Response(416, {**headers, "Content-Range": f"bytes */{len(data)}"}, b"")
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return Response(206, headers, data[start : end + 1])
        return Response(200, headers, data)
