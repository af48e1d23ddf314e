"""`syncer serve`: the read-only models API over the published snapshot files (no database).

    GET /v1/models                      catalog.json, byte for byte
    GET /v1/models?format=openrouter    openrouter.json, byte for byte (bearer token when SYNCER_API_TOKEN is set)
    GET /v1/models/{id}                 one catalog entry (ids may contain '/')
    GET /v1/models?format=openrouter&schema_version=2.4   openrouter-v2.json, byte for byte (same rules)
    GET /healthz                        each file's name and age (hashes with the token); 503 when one is missing
                                        or too old, 200 "degraded" when a file on disk was rejected
    GET /openapi.json                   the OpenAPI document of the above

Everything a listing request can be answered with is built once per snapshot, when the file is loaded: the
body, its gzip encoding, the ETags, the headers and the 304s. A request does a few dict lookups and sends
prebuilt bytes.

Hot reload: a background task stats both files every ``SYNCER_SERVE_RELOAD_INTERVAL`` seconds (inode, size,
mtime, ctime: a watcher would lose the file at the sync's atomic ``os.replace``). A changed file is read
through one file descriptor (so the stat and the bytes belong together), parsed and checked with the listing
spec's validators, and only then swapped in. A file that fails is ignored with a log line, and the last good
snapshot keeps being served.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hmac
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Send

from syncer.errors import SnapshotRejectedError
from syncer.serve.openapi import openapi_document
from syncer.settings import Settings
from syncer.snapshot import CATALOG, FILE_NAMES, OPENROUTER, OPENROUTER_V2, VALIDATORS, content_hash, render

log = logging.getLogger("syncer.serve")

FORMATS = (CATALOG, OPENROUTER)  # accepted values of ?format=, the default first
#: ``?format=openrouter&schema_version=2.4``: OpenRouter's typed document (openrouter-v2.json)
SCHEMA_VERSIONS = {"2.4": OPENROUTER_V2}
PROTECTED = frozenset({OPENROUTER, OPENROUTER_V2})  # the views behind the bearer token
JSON = b"application/json"
GZIP_LEVEL = 6
# A file whose mtime is this recent may be rewritten within the same timestamp tick with the same size (and a
# recycled inode): its bytes are re-hashed at every poll until it is older than this.
RACY_NS = 3_000_000_000
_ACCEPT_CACHE_MAX = 512

Signature = tuple[int, int, int, int]  # (inode, size, mtime_ns, ctime_ns)


class Prebuilt(Response):
    """A response whose status, headers and body were built once; shared by every request that gets it."""

    def __init__(self, status_code: int, body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [*headers, (b"content-length", str(len(body)).encode("ascii"))]


def error_body(status: int, message: str, kind: str, code: str | None = None, **extra: object) -> bytes:
    """OpenAI's error shape, which the OpenAI SDKs parse: ``{"error": {"message", "type", "code", ...}}``."""
    error: dict[str, object] = {"message": message, "type": kind, "code": code, "param": None, **extra}
    return json.dumps({"error": error}).encode("utf-8")


def error_response(
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
    **extra: object,
) -> Prebuilt:
    return Prebuilt(
        status,
        error_body(status, message, kind, code, **extra),
        [(b"content-type", JSON), (b"cache-control", b"no-store"), *headers],
    )


@dataclass(frozen=True)
class Resource:
    """One listing or one entry, in every form a GET of it can be answered with."""

    etag: str  # strong ETag of the identity bytes: '"<sha256>"'
    full: Prebuilt
    full_gzip: Prebuilt
    not_modified: Prebuilt
    not_modified_gzip: Prebuilt
    etags: frozenset[bytes]  # opaque tags (no W/) that an If-None-Match may name for this content

    @classmethod
    def build(cls, body: bytes, cache_control: bytes) -> Resource:
        digest = content_hash(body)
        etag, etag_gzip = f'"{digest}"', f'"{digest}-gzip"'
        compressed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        common = [(b"cache-control", cache_control), (b"vary", b"Accept-Encoding")]
        return cls(
            etag=etag,
            full=Prebuilt(200, body, [(b"content-type", JSON), (b"etag", etag.encode()), *common]),
            full_gzip=Prebuilt(
                200,
                compressed,
                [
                    (b"content-type", JSON),
                    (b"content-encoding", b"gzip"),
                    (b"etag", etag_gzip.encode()),
                    *common,
                ],
            ),
            not_modified=_NotModified([(b"etag", etag.encode()), *common]),
            not_modified_gzip=_NotModified([(b"etag", etag_gzip.encode()), *common]),
            etags=frozenset({etag.encode(), etag_gzip.encode()}),
        )

    def respond(self, accept_gzip: bool, if_none_match: bytes | None) -> Prebuilt:
        if if_none_match is not None and etag_matches(if_none_match, self.etags):
            return self.not_modified_gzip if accept_gzip else self.not_modified
        return self.full_gzip if accept_gzip else self.full


class _NotModified(Prebuilt):
    def __init__(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.status_code = 304
        self.body = b""
        self.background = None
        self.raw_headers = list(headers)  # a 304 carries no Content-Length of its own


@dataclass(frozen=True)
class Snapshot:
    """One loaded, validated snapshot file and everything prebuilt from it."""

    name: str
    path: Path
    signature: Signature
    content_hash: str
    modified_at: float  # the file's mtime: when the sync last wrote it
    loaded_at: float
    models: int
    listing: Resource
    entries: Mapping[str, Resource] = field(default_factory=dict)  # catalog only, by id


def _signature(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_file(path: Path) -> tuple[Signature, bytes]:
    """The bytes and the stat of the same file (one descriptor), even if the file is replaced meanwhile."""
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        return _signature(st), handle.read()


def build_snapshot(
    name: str, path: Path, signature: Signature, data: bytes, *, cache_control: bytes
) -> Snapshot:
    """Parse, validate with the spec's validator, and prebuild every response; raise SnapshotRejectedError."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SnapshotRejectedError(f"not valid JSON: {exc}") from None
    problems = VALIDATORS[name](document)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise SnapshotRejectedError(f"breaks the listing spec: {shown}")
    entries: dict[str, Resource] = {}
    if name == CATALOG:
        for entry in document["data"]:
            entries[entry["id"]] = Resource.build(render(entry), cache_control)
    return Snapshot(
        name=name,
        path=path,
        signature=signature,
        content_hash=content_hash(data),
        modified_at=signature[2] / 1e9,
        loaded_at=time.time(),
        models=len(document["data"]),
        listing=Resource.build(data, cache_control),
        entries=entries,
    )


class SnapshotSource:
    """The current good snapshot of each file, refreshed by :meth:`poll` (cheap when nothing changed)."""

    def __init__(self, folder: Path, *, cache_control: Mapping[str, bytes]) -> None:
        self.folder = folder
        self.cache_control = dict(cache_control)
        self.current: dict[str, Snapshot | None] = dict.fromkeys(FILE_NAMES)
        #: why the file on disk is not the one served (it was rejected), None when it is; and its sha256
        self.last_error: dict[str, str | None] = dict.fromkeys(FILE_NAMES)
        self.rejected_hash: dict[str, str | None] = dict.fromkeys(FILE_NAMES)
        self._rejected: dict[
            str, tuple[Signature, str]
        ] = {}  # name -> (signature, hash) of the last bad file
        self._missing_logged: set[str] = set()
        self._lock = threading.Lock()  # one poll at a time (the background task and an explicit call)

    def poll(self) -> list[str]:
        """Look at both files once; load what changed. Returns the names swapped in."""
        with self._lock:
            return [name for name in FILE_NAMES if self._poll_one(name)]

    def _poll_one(self, name: str) -> bool:
        path = self.folder / FILE_NAMES[name]
        current = self.current[name]
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._clear_rejection(name)  # no file on disk: none is rejected (the last good one is served)
            if name not in self._missing_logged:
                self._missing_logged.add(name)
                kept = f"; still serving {current.content_hash[:12]}" if current else ""
                log.warning("snapshot %s is missing%s", path, kept)
            return False
        except OSError as exc:
            log.warning("cannot stat snapshot %s: %s", path, exc)
            return False
        self._missing_logged.discard(name)
        signature = _signature(st)
        racy = time.time_ns() - st.st_mtime_ns < RACY_NS
        rejected = self._rejected.get(name)
        if not racy and (
            (current is not None and current.signature == signature)
            or (rejected is not None and rejected[0] == signature)
        ):
            return False
        try:
            signature, data = read_file(path)
        except OSError as exc:
            log.warning("cannot read snapshot %s: %s", path, exc)
            return False
        digest = content_hash(data)
        if current is not None and current.content_hash == digest:
            if current.signature != signature:  # rewritten with the same bytes: nothing to swap
                self.current[name] = _replace_signature(current, signature)
            self._clear_rejection(name)  # e.g. a rejected file replaced by the good one again
            return False
        if rejected is not None and rejected[1] == digest:
            self._rejected[name] = (signature, digest)
            return False
        try:
            snapshot = build_snapshot(name, path, signature, data, cache_control=self.cache_control[name])
        except SnapshotRejectedError as exc:
            self._rejected[name] = (signature, digest)
            kept = f"still serving {current.content_hash[:12]}" if current else "nothing served yet"
            self.last_error[name] = str(exc)
            self.rejected_hash[name] = digest
            log.warning("ignoring snapshot %s (sha256 %s): %s; %s", path, digest[:12], exc, kept)
            return False
        self.current[name] = snapshot
        self._clear_rejection(name)
        log.info("serving %s: sha256 %s, %d models", path, digest[:12], snapshot.models)
        return True

    def _clear_rejection(self, name: str) -> None:
        self.last_error[name] = None
        self.rejected_hash[name] = None
        self._rejected.pop(name, None)


def _replace_signature(snapshot: Snapshot, signature: Signature) -> Snapshot:
    return replace(snapshot, signature=signature, modified_at=signature[2] / 1e9)


# --------------------------------------------------------------------------------------------------------
# Request parsing: a handful of bytes comparisons, memoised where a header value repeats.
# --------------------------------------------------------------------------------------------------------


def accepts_gzip(value: bytes) -> bool:
    """Whether an Accept-Encoding value allows gzip (``gzip``/``x-gzip`` or ``*``, with q > 0)."""
    gzip_q: float | None = None
    star_q: float | None = None
    for part in value.split(b","):
        coding, _, params = part.partition(b";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(b";"):
            key, _, raw = param.partition(b"=")
            if key.strip().lower() == b"q":
                try:
                    q = float(raw.strip())
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:
                    q = 0.0
        if coding in (b"gzip", b"x-gzip"):
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif coding == b"*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


_accept_cache: dict[bytes, bool] = {}


def _accepts_gzip_cached(value: bytes | None) -> bool:
    if value is None:
        return False
    known = _accept_cache.get(value)
    if known is None:
        known = accepts_gzip(value)
        if len(_accept_cache) >= _ACCEPT_CACHE_MAX:
            _accept_cache.clear()
        _accept_cache[value] = known
    return known


def etag_matches(value: bytes, etags: frozenset[bytes]) -> bool:
    """If-None-Match: ``*`` or any listed tag equal to ours under weak comparison (``W/`` ignored)."""
    if value.strip() == b"*":
        return True
    for listed in value.split(b","):
        tag = listed.strip()
        if tag.startswith(b"W/"):
            tag = tag[2:]
        if tag in etags:
            return True
    return False


def _headers(scope: Mapping[str, Any]) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Accept-Encoding, If-None-Match and Authorization of a request (repeated headers joined)."""
    accept = match = auth = None
    for key, value in scope["headers"]:
        if key == b"accept-encoding":
            accept = value if accept is None else accept + b"," + value
        elif key == b"if-none-match":
            match = value if match is None else match + b"," + value
        elif key == b"authorization":
            auth = value
    return accept, match, auth


def _format_of(query_string: bytes) -> str | None:
    """The requested view: the value of the last ``format`` parameter, the catalog by default."""
    fmt = _KNOWN_QUERIES.get(query_string)
    if fmt is not None:
        return fmt
    chosen = CATALOG
    version: str | None = None
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key == "format":
            chosen = value
        elif key == "schema_version":
            version = value
    if version is not None:
        return SCHEMA_VERSIONS.get(version) if chosen == OPENROUTER else None
    return chosen if chosen in FORMATS else None


_KNOWN_QUERIES = {
    b"": CATALOG,
    **{f"format={f}".encode(): f for f in FORMATS},
    **{f"format={OPENROUTER}&schema_version={v}".encode(): n for v, n in SCHEMA_VERSIONS.items()},
}


# --------------------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------------------


class ModelsAPI:
    """The endpoints, over a :class:`SnapshotSource`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        token = settings.api_token.get_secret_value() if settings.api_token else ""
        self._token = token.encode("utf-8") if token else None
        age = settings.serve_cache_max_age
        openrouter_cc = f"{'private' if self._token else 'public'}, max-age={age}".encode()
        self.source = SnapshotSource(
            settings.snapshot_dir,
            cache_control={
                CATALOG: f"public, max-age={age}".encode(),
                OPENROUTER: openrouter_cc,
                OPENROUTER_V2: openrouter_cc,
            },
        )
        accepted = ", ".join(FORMATS)
        self._bad_format = error_response(
            400,
            f"unknown format; accepted values: {accepted} (default {CATALOG}); "
            f"format={OPENROUTER} also takes schema_version={', '.join(SCHEMA_VERSIONS)}",
            "invalid_request_error",
            "invalid_format",
            accepted=list(FORMATS),
        )
        self._unauthorized = error_response(
            401,
            "the OpenRouter view needs 'Authorization: Bearer <token>'",
            "authentication_error",
            "invalid_api_key",
            headers=[(b"www-authenticate", b'Bearer realm="syncer"')],
        )
        self._unavailable = {
            name: error_response(
                503,
                f"no {name} snapshot loaded yet (run `syncer sync now`)",
                "service_unavailable",
                "snapshot_unavailable",
                headers=[(b"retry-after", b"5")],
            )
            for name in FILE_NAMES
        }
        self._openapi = Prebuilt(
            200,
            json.dumps(openapi_document(protected=self._token is not None), indent=2).encode("utf-8"),
            [(b"content-type", JSON), (b"cache-control", b"no-cache")],
        )

    def _authorized(self, auth: bytes | None) -> bool:
        if self._token is None:
            return True
        if auth is None:
            return False
        scheme, _, given = auth.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(given.strip(), self._token)

    async def list_models(self, request: Request) -> Response:
        return self.listing_response(request.scope)

    def listing_response(self, scope: Mapping[str, Any]) -> Prebuilt:
        fmt = _format_of(scope["query_string"])
        if fmt is None:
            return self._bad_format
        accept, match, auth = _headers(scope)
        if fmt in PROTECTED and not self._authorized(auth):
            return self._unauthorized
        snapshot = self.source.current[fmt]
        if snapshot is None:
            return self._unavailable[fmt]
        return snapshot.listing.respond(_accepts_gzip_cached(accept), match)

    async def get_model(self, request: Request) -> Response:
        snapshot = self.source.current[CATALOG]
        if snapshot is None:
            return self._unavailable[CATALOG]
        model_id: str = request.path_params["model_id"]
        resource = snapshot.entries.get(model_id)
        if resource is None:
            return error_response(
                404,
                f"the model {model_id!r} does not exist",
                "invalid_request_error",
                "model_not_found",
            )
        accept, match, _auth = _headers(request.scope)
        return resource.respond(_accepts_gzip_cached(accept), match)

    async def healthz(self, request: Request) -> Response:
        _accept, _match, auth = _headers(request.scope)
        status, body = self.health(authorized=self._authorized(auth))
        return Prebuilt(
            status,
            json.dumps(body, indent=2).encode("utf-8"),
            [(b"content-type", JSON), (b"cache-control", b"no-store")],
        )

    def health(self, *, authorized: bool = True) -> tuple[int, dict[str, Any]]:
        """The health document. ``authorized``: the caller showed the bearer token (or none is configured);
        only then does it carry hashes (the ETags of the protected views are theirs to know) and the reason a
        protected file was rejected (which may quote its content). No absolute path, ever: file names only.

        503 ``unavailable`` when a view was never loaded or is older than the limit; 200 ``degraded`` when the
        file on disk was rejected and the last good snapshot is still served (a fleet that all rejects a new
        file keeps serving); 200 ``ok`` otherwise."""
        now = time.time()
        limit = self.settings.serve_max_snapshot_age or None
        unavailable: list[str] = []
        degraded: list[str] = []
        snapshots: dict[str, Any] = {}
        for name in FILE_NAMES:
            snapshot = self.source.current[name]
            error = self.source.last_error[name]
            if error is not None and name in PROTECTED and not authorized:
                error = "the file failed the listing checks (the reason needs the bearer token; see the log)"
            entry: dict[str, Any] = {"file": FILE_NAMES[name]}
            if error is not None:
                kept = "the last good snapshot is still served" if snapshot else "nothing is served"
                degraded.append(f"{name}: the file on disk was rejected ({error}); {kept}")
            if snapshot is None:
                unavailable.append(f"{name}: no snapshot loaded")
                entry.update(loaded=False, last_error=error)
            else:
                age = max(0.0, now - snapshot.modified_at)
                if limit is not None and age > limit:
                    unavailable.append(f"{name}: snapshot is {age:.0f} s old (limit {limit:.0f} s)")
                entry.update(
                    loaded=True,
                    models=snapshot.models,
                    written_at=_iso(snapshot.modified_at),
                    age_seconds=round(age, 3),
                    loaded_at=_iso(snapshot.loaded_at),
                    last_error=error,
                )
                if authorized:
                    entry.update(sha256=snapshot.content_hash, etag=snapshot.listing.etag)
            rejected = self.source.rejected_hash[name]
            if authorized and error is not None and rejected is not None:
                entry["rejected_sha256"] = rejected
            snapshots[name] = entry
        problems = unavailable + degraded
        status = "unavailable" if unavailable else "degraded" if degraded else "ok"
        body = {
            "status": status,
            "problems": problems,
            "max_snapshot_age_seconds": limit,
            "snapshots": snapshots,
        }
        return (503 if unavailable else 200), body

    async def openapi(self, request: Request) -> Response:
        return self._openapi

    async def poll_forever(self) -> None:
        interval = self.settings.serve_reload_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.source.poll)
            except Exception:  # a bug here must not stop the reloads; the last good snapshot stays
                log.exception("snapshot poll failed")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (exc.headers or {}).items()]
    kind = "not_found" if exc.status_code == 404 else "invalid_request_error"
    return error_response(exc.status_code, exc.detail, kind, None, headers=headers)


def create_app(settings: Settings) -> Starlette:
    """The ASGI app. Snapshots are loaded at once (a missing one is served as 503 until it appears)."""
    api = ModelsAPI(settings)
    api.source.poll()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(api.poll_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = Starlette(
        routes=[
            Route("/v1/models", api.list_models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", api.get_model, methods=["GET"]),
            Route("/healthz", api.healthz, methods=["GET"]),
            Route("/openapi.json", api.openapi, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.api = api
    # Starlette's own trailing-slash redirect builds an absolute Location from the Host header (anyone's to
    # choose): ours sends the path only.
    app.router.redirect_slashes = False
    app.router.default = _SlashRedirect(app)
    return app


class _SlashRedirect:
    """The router's fallback: ``GET /healthz/`` is a 307 to ``/healthz`` when the path without its trailing
    slashes is a route (Location: the path and query only, never a host; one leading slash, so never
    ``//host``); anything else is the router's 404."""

    def __init__(self, app: Starlette) -> None:
        self.router = app.router

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path != "/" and path.endswith("/"):
            stripped = {**scope, "path": path.rstrip("/") or "/"}
            if any(route.matches(stripped)[0] == Match.FULL for route in self.router.routes):
                raw: bytes = scope.get("raw_path") or path.encode("utf-8")
                location = b"/" + raw.rstrip(b"/").lstrip(b"/")
                if scope.get("query_string"):
                    location += b"?" + scope["query_string"]
                response = Prebuilt(307, b"", [(b"location", location), (b"cache-control", b"no-store")])
                await response(scope, receive, send)
                return
        await self.router.not_found(scope, receive, send)


class FastListing:
    """ASGI wrapper answering ``GET /v1/models`` straight from the prebuilt responses, before Starlette's
    middleware and router (which cost as much as the rest of the request); everything else goes to ``app``.
    Starlette's own route for the path answers the same way, so the two cannot disagree."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.api: ModelsAPI = app.state.api

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/models" and scope["method"] in ("GET", "HEAD"):
            response = self.api.listing_response(scope)
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response.raw_headers,
                }
            )
            await send({"type": "http.response.body", "body": response.body})
            return
        await self.app(scope, receive, send)


def app_from_environment() -> FastListing:
    """Factory for uvicorn's worker processes (``--workers N``): settings from the environment."""
    from syncer.logs import configure_logging
    from syncer.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format)
    return FastListing(create_app(settings))


def server_config(settings: Settings, app: Any, **options: Any) -> Any:
    """The uvicorn configuration of `syncer serve` with the client bounds of the settings (one place, so that
    the CLI, ``--workers N`` and :class:`ServerThread` enforce the same limits; see :mod:`syncer.serve.limits`)."""
    from syncer.serve.limits import BoundedConfig, BoundedHttpToolsProtocol

    return BoundedConfig(
        app,
        http=BoundedHttpToolsProtocol,
        # uvicorn answers 503 once the open connections *reach* limit_concurrency: +1 lets exactly
        # SYNCER_SERVE_MAX_CONNECTIONS connections be served.
        limit_concurrency=settings.serve_max_connections + 1,
        timeout_keep_alive=settings.serve_keep_alive,
        h11_max_incomplete_event_size=settings.serve_max_header_bytes,
        header_timeout=settings.serve_header_timeout,
        server_header=False,
        lifespan="on",
        **options,
    )


def serve(settings: Settings, *, host: str, port: int, workers: int = 1, access_log: bool = False) -> int:
    """Run the API under uvicorn until SIGINT/SIGTERM. With ``workers > 1`` every worker process reads the
    settings from the environment (as the CLI does) and polls the snapshots itself; the client bounds come
    from ``settings`` in every worker (the configuration is handed to them whole)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": access_log,  # off by default: a line per request costs a third of the throughput
    }

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: make that an exit 0.
    def _stopped(signum: int, frame: object) -> None:
        raise SystemExit(0)

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stopped) if main_thread else None
    try:
        # What uvicorn.run does, with our configuration class.
        if workers > 1:
            config = server_config(
                settings, "syncer.serve.app:app_from_environment", factory=True, workers=workers, **options
            )
            sock = config.bind_socket()
            Multiprocess(config, sockets=[sock]).run()
        else:
            config = server_config(settings, FastListing(create_app(settings)), **options)
            server = uvicorn.Server(config)
            with contextlib.suppress(KeyboardInterrupt):
                server.run()
            if not server.started:
                raise SystemExit(3)  # uvicorn's STARTUP_FAILURE: it logged why (e.g. the port is taken)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    return 0


class ServerThread:
    """The API under uvicorn in a thread of this process, on a port the OS picks (tests, embedding)."""

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", fast_listing: bool = True) -> None:
        import uvicorn

        self.app = create_app(settings)
        self.api: ModelsAPI = self.app.state.api
        config = server_config(
            settings,
            FastListing(self.app) if fast_listing else self.app,
            host=host,
            port=0,
            access_log=False,
            log_level="warning",
        )
        self._server = uvicorn.Server(config)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="syncer-serve", daemon=True
        )
        host_, port = self._sock.getsockname()[:2]
        self.url = f"http://{host_}:{port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
