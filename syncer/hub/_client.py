"""The Hub, reached only through ``huggingface_hub``'s public API (plus :mod:`syncer.hub._compat`), with a
timeout passed on every call.

One :class:`HubClient` serves a whole run. :meth:`HubClient.fetch` resolves one repo (following renames),
downloads its small config files *at the commit sha* (so a warm cache answers without a request), and
turns every failure into a :class:`~syncer.errors.HubError` subclass with the model, repo and revision.
Nothing from the Hub is executed: files are parsed as strict JSON or read as text, with size caps.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import operator
import os
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from huggingface_hub import (
    HfApi,
    ModelInfo,
    get_session,
    hf_hub_url,
    hf_raise_for_status,
    try_to_load_from_cache,
)
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

# Public (in huggingface_hub.utils.__all__), but that __all__ is computed at import, so mypy cannot see it.
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

from syncer.derive import HubFiles
from syncer.errors import (
    HubBadBodyError,
    HubDataError,
    HubError,
    HubGatedError,
    HubNotFoundError,
    HubRevisionError,
    HubTransientError,
)
from syncer.hub._compat import Timeout, TimeoutException, TransportError, count_sent, install_client_factory

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
CONFIG_FILES = ("config.json", "preprocessor_config.json", "sentence_bert_config.json")
TEMPLATE_FILES = ("chat_template.jinja", "tokenizer_config.json")
# What one bulk listing asks for each repo: enough to skip the per-model model_info call.
BULK_EXPAND = ("sha", "createdAt", "gated", "pipeline_tag", "tags", "library_name", "siblings")
BUDGET_WINDOW = 300.0  # the Hub counts requests per 5-minute window
MAX_LIST_PAGES = 1000  # an author listing stops here (100,000 repos at the Hub's 100 per page)
MAX_JSON_DEPTH = 64  # nesting a config file may have before it is refused (real configs: under 10)
MAX_JSON_NUMBER_DIGITS = 64  # characters one JSON number may have (real configs: under 25)
_CHUNK = 64 * 1024
T = TypeVar("T")
log = logging.getLogger("syncer")


@dataclass(frozen=True)
class RepoFacts:
    """What one repo said at one commit."""

    requested_id: str
    repo_id: str  # canonical id after renames
    revision: str | None
    sha: str
    created_at: datetime | None
    gated: str | bool
    pipeline_tag: str | None
    file_names: tuple[str, ...]
    files: HubFiles

    @property
    def renamed(self) -> bool:
        return self.repo_id != self.requested_id


class ListedRepo:
    """One repo as an author listing returned it: the raw fields, and the library's ``ModelInfo`` of them,
    built on first use (a listing of 10,000 repos whose stored facts are reused never needs most of them:
    ``ModelInfo`` parses dates and files, about 40 µs a repo)."""

    __slots__ = ("_info", "raw")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self._info: ModelInfo | None = None

    @property
    def info(self) -> ModelInfo:
        if self._info is None:
            self._info = ModelInfo(**self.raw)  # type: ignore[no-untyped-call]
        return self._info

    @property
    def file_names(self) -> list[str]:
        siblings = self.raw.get("siblings")
        if not isinstance(siblings, list):
            return []
        return [
            s["rfilename"] for s in siblings if isinstance(s, dict) and isinstance(s.get("rfilename"), str)
        ]


@dataclass
class RequestCounter:
    """Hub requests made by this process, by kind (``api``, ``resolve``) and errors by kind."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_request(self, kind: str, n: int = 1) -> None:
        with self.lock:
            self.requests[kind] += n

    def add_error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


class SpendLedger(Protocol):
    """Where the window's spend outlives this process, so every run of one database shares one budget.

    resolve.py passes in the store's (hub never imports the store). Times are UTC; one row per kind and
    second is enough for pacing.
    """

    def spent_since(self, since: datetime) -> Sequence[tuple[str, datetime, int]]:
        """(kind, sent at, requests) of everything spent at or after ``since``."""
        ...

    def record_spent(self, spent: Sequence[tuple[str, datetime, int]], *, prune_before: datetime) -> None:
        """Add ``spent``; rows older than ``prune_before`` may go."""
        ...


class RequestBudget:
    """Paces requests below the plan's per-window limits (sliding window, per kind).

    With a ``ledger`` the window is shared: :meth:`load` counts what earlier runs of the same database
    spent in the last window (so a run paces to the remaining budget from its first request), and
    :meth:`flush` writes this run's spend back. Without one, the budget is this process's only.
    """

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        window: float = BUDGET_WINDOW,
        ledger: SpendLedger | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.limits = dict(limits)
        self.window = window
        self.ledger = ledger
        self._clock = clock
        self._wall = wall
        self._sent: dict[str, deque[float]] = {kind: deque() for kind in limits}
        self._pending: Counter[tuple[str, datetime]] = Counter()
        self._lock = threading.Lock()
        self.loaded: dict[str, int] = {}  # what earlier runs had spent in the window when this one began

    def load(self) -> dict[str, int]:
        """Count the shared window's earlier spend (from the ledger) against this budget."""
        if self.ledger is None:
            return {}
        now_wall, now = self._wall(), self._clock()
        rows = self.ledger.spent_since(now_wall - timedelta(seconds=self.window))
        loaded: Counter[str] = Counter()
        with self._lock:
            for kind, sent_at, n in sorted(rows, key=lambda r: r[1]):
                at = now - max(0.0, (now_wall - sent_at).total_seconds())
                self._sent.setdefault(kind, deque()).extend([at] * n)
                loaded[kind] += n
        self.loaded = dict(loaded)
        return self.loaded

    def flush(self) -> None:
        """Write the spend not yet in the ledger (one row per kind and second)."""
        if self.ledger is None:
            return
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if pending:
            rows = [(kind, at, n) for (kind, at), n in sorted(pending.items())]
            prune = self._wall() - timedelta(seconds=self.window)
            self.ledger.record_spent(rows, prune_before=prune)

    def spent(self, kind: str) -> int:
        """Requests of ``kind`` in the current window (this run's and, once loaded, earlier runs')."""
        with self._lock:
            return len(self._prune(kind, self._clock()))

    def time_until(self, kind: str, n: int) -> float:
        """Seconds until ``n`` more requests of ``kind`` fit the window (0: now). Beyond one window's limit,
        each further full limit costs one more window."""
        limit = self.limits.get(kind)
        if limit is None or n <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            sent = self._prune(kind, now)
            extra_windows, n = divmod(n, limit)
            if n == 0:
                extra_windows, n = extra_windows - 1, limit
            index = len(sent) + n - limit - 1
            first = 0.0 if index < 0 else (sent[index] if index < len(sent) else now) + self.window - now
        return max(first, 0.0) + extra_windows * self.window

    def _prune(self, kind: str, now: float) -> deque[float]:
        sent = self._sent.setdefault(kind, deque())
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        return sent

    def spend(self, kind: str, n: int = 1) -> None:
        with self._lock:
            now = self._clock()
            self._prune(kind, now).extend([now] * n)
            if self.ledger is not None:
                self._pending[(kind, self._wall().replace(microsecond=0))] += n

    def wait_for(self, kind: str, n: int, remaining: float, sleep: Callable[[float], None]) -> None:
        """Wait until ``n`` more requests fit the window; fail fast when that is past the model's deadline."""
        limit = self.limits.get(kind)
        if limit is None:
            return
        while True:
            with self._lock:
                now = self._clock()
                sent = self._prune(kind, now)
                if len(sent) + n <= limit:
                    return
                index = len(sent) + n - limit - 1
                wait = (sent[index] if index < len(sent) else now) + self.window - now
            if wait >= remaining:
                raise HubTransientError(
                    f"the {kind} request budget of {limit} per {self.window:.0f}s is spent"
                )
            sleep(max(wait, 0.0))
            remaining -= max(wait, 0.0)


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
# Every byte but the four brackets is deleted; an opening bracket becomes 2 and a closing one 0, so that
# "minus one" of each is the step of the nesting depth.
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def _json_depth(raw: bytes) -> int:
    """The deepest nesting of ``raw``'s arrays and objects, brackets inside strings not counted. The running
    sum is taken by C iterators (a Python loop over each bracket of a 256-token tokenizer config cost more
    than the parse itself)."""
    steps = _JSON_STRING.sub(b'""', raw).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    depths: Iterator[int] = itertools.accumulate(map(operator.sub, steps, itertools.repeat(1)))
    return max(itertools.chain((0,), depths))


def _strict_json(raw: bytes, *, name: str) -> Mapping[str, Any]:
    """Strict JSON with bounds checked before they can blow up: nesting depth (the parser recurses) and the
    length of each number (a 400-digit integer overflows float arithmetic later)."""

    def no_constants(token: str) -> Any:
        raise ValueError(f"non-standard JSON constant {token}")

    def bounded(kind: type[int] | type[float]) -> Callable[[str], Any]:
        def parse(token: str) -> Any:
            if len(token) > MAX_JSON_NUMBER_DIGITS:
                raise ValueError(f"a number of {len(token)} characters (more than {MAX_JSON_NUMBER_DIGITS})")
            value = kind(token)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"the number {token[:20]} is out of range")
            return value

        return parse

    depth = _json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise HubDataError(f"{name} is nested {depth} levels deep (more than {MAX_JSON_DEPTH})")
    try:
        data = json.loads(
            raw.decode("utf-8"),
            parse_constant=no_constants,
            parse_int=bounded(int),
            parse_float=bounded(float),
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HubDataError(f"{name} is not valid JSON: {_short(exc)}") from None
    if not isinstance(data, dict):
        raise HubDataError(f"{name} is not a JSON object")
    return data


class HubClient:
    def __init__(
        self,
        *,
        endpoint: str,
        token: str | None,
        cache_dir: Path,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        model_deadline: float = 60.0,
        max_config_bytes: int = 2_000_000,
        max_template_bytes: int = 8_000_000,
        counter: RequestCounter | None = None,
        budget: RequestBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.model_deadline = model_deadline
        self.max_config_bytes = max_config_bytes
        self.max_template_bytes = max_template_bytes
        self.counter = counter or RequestCounter()
        self.budget = budget or RequestBudget({})
        self._sleep = sleep
        self._pause_until = 0.0  # monotonic time before which no request is sent (429 back-off)
        self._pause_lock = threading.Lock()
        self._made_dirs: set[Path] = set()  # cache folders the cache writer created (or found)
        self._writer: ThreadPoolExecutor | None = None  # the one thread that writes the cache
        self._writer_lock = threading.Lock()
        # The library's headers (user agent, token), built once: 0.2 ms of CPU each time, per request.
        self._headers: dict[str, str] = build_hf_headers(token=token, library_name="syncer")
        self._api = HfApi(endpoint=endpoint, token=token)
        install_client_factory()

    # -- one model -------------------------------------------------------------------------------------
    def list_author(self, *, author: str) -> dict[str, ListedRepo]:
        """Every repo of ``author`` with its current commit, in one paginated call (not one per model).

        Follows ``Link: rel="next"`` as the library's paginator does, but with one request per page of our
        own (the library's ``http_backoff`` retries each page 5 times with sleeps of up to 8 s, out of reach
        of the deadline), a timeout on every page (``list_models`` takes none), each page counted as one
        request, and a stop at a repeated ``Link``, at ``MAX_LIST_PAGES`` pages or at the deadline.
        """
        deadline = _Deadline(self.model_deadline)
        headers = dict(self._headers)
        params = [("author", author), *(("expand", key) for key in BULK_EXPAND)]

        def call(timeout: float) -> dict[str, ListedRepo]:
            found: dict[str, ListedRepo] = {}

            def before_page() -> None:  # every page is one API call: paced and counted like any other
                self.budget.wait_for("api", 1, deadline.remaining(), self._sleep)
                self.counter.add_request("api")
                self.budget.spend("api")

            for page in _pages(
                f"{self.endpoint}/api/models", params, headers, timeout=timeout, deadline=deadline,
                before=before_page,
            ):  # fmt: skip
                for item in page:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        found[item["id"]] = ListedRepo(item)
            return found

        try:
            return self._retrying(call, deadline, "api", counted=False)
        except HubError as exc:
            exc.repo = f"{author}/*"
            self.counter.add_error(exc.kind)
            raise

    def fetch(
        self, *, model_id: str, repo_id: str, revision: str | None, listed: ListedRepo | None = None
    ) -> RepoFacts:
        """Resolve ``repo_id`` at ``revision`` and read its files. Raises a HubError subclass.

        ``listed`` is what a bulk listing already said about the repo (commit, files): no per-model API call.
        """
        deadline = _Deadline(self.model_deadline)
        context = {"repo": repo_id}
        try:
            info = (
                listed.info
                if listed is not None
                else self._retrying(
                    lambda t: self._api.model_info(
                        repo_id, revision=revision, timeout=t, files_metadata=True
                    ),
                    deadline,
                    "api",
                )
            )
            sha = getattr(info, "sha", None)
            if not isinstance(sha, str) or not SHA_RE.match(sha):
                raise HubDataError(f"the Hub answered without a valid commit sha: {sha!r}")
            canonical = info.id if isinstance(info.id, str) and "/" in info.id else repo_id
            context["repo"] = canonical
            siblings = {s.rfilename: s.size for s in (info.siblings or [])}
            if "config.json" not in siblings:
                raise HubDataError("the repo has no config.json")
            raw: dict[str, bytes] = {}
            for name in (*CONFIG_FILES, *TEMPLATE_FILES):
                if name not in siblings:
                    continue
                if name == "tokenizer_config.json" and "chat_template.jinja" in raw:
                    continue  # the template file wins; no need to fetch the larger tokenizer config
                cap = self.max_template_bytes if name == "tokenizer_config.json" else self.max_config_bytes
                size = siblings[name]
                if size is not None and size > cap:
                    raise HubDataError(f"{name} is {size} bytes, above the cap of {cap}")
                raw[name] = self._download(canonical, name, sha, cap, deadline)
            files = HubFiles(
                config=_strict_json(raw["config.json"], name="config.json"),
                tokenizer_config=(
                    _strict_json(raw["tokenizer_config.json"], name="tokenizer_config.json")
                    if "tokenizer_config.json" in raw
                    else None
                ),
                chat_template=raw["chat_template.jinja"].decode("utf-8", "replace")
                if "chat_template.jinja" in raw
                else None,
                preprocessor_config=(
                    _strict_json(raw["preprocessor_config.json"], name="preprocessor_config.json")
                    if "preprocessor_config.json" in raw
                    else None
                ),
                sentence_bert_config=(
                    _strict_json(raw["sentence_bert_config.json"], name="sentence_bert_config.json")
                    if "sentence_bert_config.json" in raw
                    else None
                ),
                has_video_preprocessor="video_preprocessor_config.json" in siblings,
                pipeline_tag=info.pipeline_tag if isinstance(info.pipeline_tag, str) else None,
                tags=tuple(t for t in (info.tags or []) if isinstance(t, str)),
                library_name=info.library_name if isinstance(info.library_name, str) else None,
            )
            created = info.created_at
            return RepoFacts(
                requested_id=repo_id,
                repo_id=canonical,
                revision=revision,
                sha=sha,
                created_at=created.astimezone(UTC) if isinstance(created, datetime) else None,
                gated=info.gated if isinstance(info.gated, str | bool) else False,
                pipeline_tag=files.pipeline_tag,
                file_names=tuple(sorted(siblings)),
                files=files,
            )
        except HubError as exc:
            exc.model_id, exc.repo, exc.revision = model_id, context["repo"], revision
            self.counter.add_error(exc.kind)
            raise

    # -- plumbing --------------------------------------------------------------------------------------
    def _download(self, repo_id: str, filename: str, sha: str, cap: int, deadline: _Deadline) -> bytes:
        """One file at a commit: from the cache when it holds it (no request), else one GET of our own.

        Not ``hf_hub_download``: after a first timeout its ``HEAD`` is retried by the library with a
        hard-coded 60 s timeout and 5 back-off sleeps, out of reach of our per-call timeout and per-model
        deadline. Our single attempt goes through the library's own session (its headers and hooks), is
        refused as soon as it passes ``cap`` bytes (announced or received), and stops at the deadline even
        when a server drips bytes. A file read at a commit sha never changes, so it is stored in the Hub
        cache's documented layout (``models--org--name/snapshots/<sha>/<file>``) where the next run finds it.
        """
        cached = self._cached_path(repo_id, filename, sha)
        if cached is not None:
            if cached.stat().st_size > cap:
                raise HubDataError(f"{filename} is {cached.stat().st_size} bytes, above the cap of {cap}")
            return cached.read_bytes()

        def attempt(timeout: float) -> bytes:
            url = hf_hub_url(repo_id, filename, revision=sha, endpoint=self.endpoint)
            headers = dict(self._headers)
            with get_session().stream("GET", url, headers=headers, timeout=Timeout(timeout)) as response:
                if response.is_error:
                    response.read()
                hf_raise_for_status(response)
                announced = response.headers.get("Content-Length")
                if announced is not None and announced.strip().isdigit() and int(announced) > cap:
                    raise HubDataError(f"{filename} is {int(announced)} bytes, above the cap of {cap}")
                body = bytearray()
                for chunk in response.iter_bytes(_CHUNK):
                    body += chunk
                    if len(body) > cap:
                        raise HubDataError(
                            f"{filename} is more than {cap} bytes (the cap): refused while downloading"
                        )
                    if deadline.remaining() <= 0:
                        raise HubTransientError(f"{filename} still downloading at the model's deadline")
            self._store_cached(repo_id, filename, sha, bytes(body))
            return bytes(body)

        return self._retrying(attempt, deadline, "resolve")

    def _cache_file(self, repo_id: str, filename: str, sha: str) -> Path:
        return self.cache_dir / ("models--" + repo_id.replace("/", "--")) / "snapshots" / sha / filename

    def _cached_path(self, repo_id: str, filename: str, sha: str) -> Path | None:
        try:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=self.cache_dir, revision=sha)
        except ValueError:  # an id the library refuses: the GET will say so, as a counted attempt
            return None
        return Path(found) if isinstance(found, str) else None

    def _store_cached(self, repo_id: str, filename: str, sha: str, body: bytes) -> None:
        """Hand the file to the cache writer: one thread writes every file of the client, in order.
        Sixteen request threads each creating their repo's cache folders contend on the folders' locks in
        the kernel (measured: 0.3 to 0.7 s of system CPU, and as much wall time, in a cold run of 1,000
        models); one writer does the same work uncontended, beside the requests. A file not written yet is
        a cache miss, never a wrong read: the files appear whole (temp file, then rename)."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncer-hub-cache")
            self._writer.submit(self._write_cached, repo_id, filename, sha, body)

    def flush_cache(self) -> None:
        """Wait until every file handed to the cache writer is written (a run's files are in the cache when
        its Hub stage ends)."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def _write_cached(self, repo_id: str, filename: str, sha: str, body: bytes) -> None:
        target = self._cache_file(repo_id, filename, sha)
        try:
            if target.parent not in self._made_dirs:  # each folder made once, top down: no failed mkdir
                if self.cache_dir not in self._made_dirs:
                    self.cache_dir.mkdir(parents=True, exist_ok=True)
                    self._made_dirs.add(self.cache_dir)
                folder = self.cache_dir
                for part in target.relative_to(self.cache_dir).parts[:-1]:
                    folder = folder / part
                    if folder not in self._made_dirs:
                        folder.mkdir(exist_ok=True)
                        self._made_dirs.add(folder)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_bytes(body)
            os.replace(temporary, target)
        except OSError as exc:  # a cache that cannot be written costs a request next run, nothing more
            log.warning("could not cache %s of %s at %s: %s", filename, repo_id, sha[:7], exc)

    def _retrying(
        self,
        call: Callable[[float], T],
        deadline: _Deadline,
        kind: str,
        *,
        requests: int = 1,
        counted: bool = True,
    ) -> T:
        """Run ``call(timeout)`` with bounded retries. ``requests`` is what one attempt sends (0: served
        from the cache); ``counted=False`` when the call counts its own requests (pagination)."""
        attempt = 0
        while True:
            if requests:
                self._respect_rate_limit(deadline)
                if counted:
                    self.budget.wait_for(kind, requests, deadline.remaining(), self._sleep)
            timeout = min(self.timeout, max(deadline.remaining(), 0.1))
            if counted and requests:
                self.counter.add_request(kind, requests)
                self.budget.spend(kind, requests)
            try:
                with count_sent() as sent:
                    return call(timeout)
            except Exception as exc:
                error = classify(exc)
            finally:
                # Hidden attempts (a redirect the library followed) are requests too: counted and paced.
                if counted and requests and sent[0] > requests:
                    self.counter.add_request(kind, sent[0] - requests)
                    self.budget.spend(kind, sent[0] - requests)
            if error.retry_after is not None:
                # The Hub asked us to slow down: every worker thread waits, not just this one.
                with self._pause_lock:
                    self._pause_until = max(self._pause_until, time.monotonic() + error.retry_after)
            if not error.retryable:
                raise error
            attempt += 1
            wait = error.retry_after if error.retry_after is not None else self.backoff * 2 ** (attempt - 1)
            wait *= 1 + random.random() * 0.25  # noqa: S311 - jitter, not crypto
            if attempt > self.retries or wait >= deadline.remaining():
                raise error
            self._sleep(wait)

    def _respect_rate_limit(self, deadline: _Deadline) -> None:
        with self._pause_lock:
            wait = self._pause_until - time.monotonic()
        if wait <= 0:
            return
        if wait >= deadline.remaining():
            raise HubTransientError(f"rate limited by the Hub for {wait:.0f} more seconds", status=429)
        self._sleep(wait)


def _pages(
    url: str,
    params: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    timeout: float,
    deadline: _Deadline,
    max_pages: int = MAX_LIST_PAGES,
    before: Callable[[], None] = lambda: None,
) -> Iterator[Any]:
    """The JSON of each page of a Hub listing, following ``Link: <...>; rel="next"`` (absolute URLs that
    already carry the query): one request per page through the library's session, each with ``timeout``.
    Stops with a HubBadBodyError at a ``Link`` already followed (a loop) or past ``max_pages`` pages, and with
    a HubTransientError at the deadline: a listing can never run forever. ``before`` runs before each request
    (the budget's pacing and count)."""
    session = get_session()
    before()
    response = session.get(url, params=list(params), headers=dict(headers), timeout=Timeout(timeout))
    seen = {str(response.url)}
    pages = 1
    while True:
        hf_raise_for_status(response)
        yield response.json()
        next_page = response.links.get("next", {}).get("url")
        if next_page is None:
            return
        if next_page in seen:
            raise HubDataError(f"the listing's Link: next repeats a page already read ({pages} pages)")
        if pages >= max_pages:
            raise HubDataError(f"the listing has more than {max_pages} pages")
        if deadline.remaining() <= 0:
            raise HubTransientError(f"the listing was still paging at the deadline ({pages} pages)")
        seen.add(next_page)
        pages += 1
        before()
        response = session.get(
            next_page, headers=dict(headers), timeout=Timeout(min(timeout, max(deadline.remaining(), 0.1)))
        )


def _retry_after(response: Any) -> float | None:
    """Seconds to wait from ``RateLimit: "api";r=0;t=N`` or ``Retry-After``."""
    headers = getattr(response, "headers", None) or {}
    ratelimit = headers.get("RateLimit") or headers.get("ratelimit")
    if ratelimit:
        match = re.search(r"\bt=(\d+)", ratelimit)
        if match:
            return float(match.group(1))
    retry_after = headers.get("Retry-After")
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after)
    return None


def classify(exc: BaseException) -> HubError:
    """Map a huggingface_hub / transport exception to our hierarchy. Never includes request headers."""
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, GatedRepoError):
        return HubGatedError("gated repo: our token has no access (request access on the Hub)", status=401)
    if isinstance(exc, DisabledRepoError):
        return HubNotFoundError("the repo is disabled on the Hub", status=403)
    if isinstance(exc, RepositoryNotFoundError):
        return HubNotFoundError(
            "repo not found or no access (401/404: not proof of deletion)", status=_status(exc)
        )
    if isinstance(exc, RevisionNotFoundError):
        return HubRevisionError("the revision does not exist", status=404)
    if isinstance(exc, LocalEntryNotFoundError):
        return HubTransientError(f"file not cached and the Hub did not answer: {_short(exc)}")
    if isinstance(exc, EntryNotFoundError):
        return HubRevisionError(f"file not found at this commit: {_short(exc)}", status=404)
    if isinstance(exc, HfHubHTTPError):
        status = _status(exc)
        if status in (401, 403):
            return HubNotFoundError(f"no access (HTTP {status})", status=status)
        if status in (408, 429) or (status is not None and status >= 500):
            retry_after = _retry_after(exc.response) if status == 429 else None
            return HubTransientError(f"HTTP {status} from the Hub", status=status, retry_after=retry_after)
        return HubError(f"HTTP {status} from the Hub", status=status)
    if isinstance(exc, TimeoutException):
        return HubTransientError(f"timed out ({type(exc).__name__})")
    if isinstance(exc, TransportError):
        return HubTransientError(f"network error ({type(exc).__name__})")
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return HubBadBodyError("the Hub answered with a body that is not JSON")
    if isinstance(exc, OSError | ValueError):
        return HubBadBodyError(f"bad answer from the Hub: {_short(exc)}")
    return HubError(f"unexpected {type(exc).__name__}: {_short(exc)}")


def _status(exc: HfHubHTTPError) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def parse_hub_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
