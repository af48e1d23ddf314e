"""The Hub stage of a run: every catalog model to its fresh :class:`~syncer.listing.Facts`, or to the
:class:`~syncer.errors.HubError` of its failed lookup. Lookups run concurrently; each failure stays that
model's. The Hub is reached only through :mod:`syncer.hub`; facts are derived by :mod:`syncer.derive`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.catalog import CatalogModel
from syncer.derive import DerivationError, derive_facts
from syncer.errors import HubDataError, HubError
from syncer.hub import SHA_RE, HubClient, ListedRepo, RepoFacts, RequestBudget, RequestCounter, SpendLedger
from syncer.listing import Facts
from syncer.settings import Settings
from syncer.stamps import derivation_stamp

log = logging.getLogger("syncer")
LEDGER_FLUSH_SECONDS = 2.0  # how often a run writes its Hub spend to the shared window (and at its end)


@dataclass(frozen=True)
class Lookup:
    """One model's Hub lookup just finished: what a progress display shows while the Hub is being asked."""

    model_id: str
    repo: str
    commit: str | None  # the resolved commit, None when the lookup failed
    error_kind: str | None
    error: str | None
    done: int  # lookups finished so far (this one included)
    total: int  # lookups of this run
    failures: int  # failed lookups so far
    hub_requests: int  # Hub requests this run has made so far


LookupCallback = Callable[[Lookup], None]


def derivation_key(
    *,
    repo_id: str,
    sha: str,
    pipeline_tag: object,
    tags: Iterable[object],
    library_name: object,
    file_names: Iterable[str],
    caps: tuple[int, int],
) -> str:
    """The key of everything a model's facts are derived from, besides the bytes of its files (which the
    commit ``sha`` fixes): the repo's listed metadata, which files it has, the file-size caps and the code
    (:func:`syncer.stamps.derivation_stamp`). Equal keys mean equal facts, so a run may reuse stored facts on an equal key."""
    inputs = [
        repo_id,
        sha,
        pipeline_tag if isinstance(pipeline_tag, str) else None,
        sorted(t for t in tags if isinstance(t, str)),
        library_name if isinstance(library_name, str) else None,
        sorted(file_names),
        list(caps),
        derivation_stamp(),
    ]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def _repo_key(repo: RepoFacts, caps: tuple[int, int]) -> str:
    return derivation_key(
        repo_id=repo.repo_id,
        sha=repo.sha,
        pipeline_tag=repo.pipeline_tag,
        tags=repo.files.tags,
        library_name=repo.files.library_name,
        file_names=repo.file_names,
        caps=caps,
    )


def _listed_key(repo: ListedRepo, caps: tuple[int, int]) -> str | None:
    """The derivation key a listing entry gives, or None when the entry is not one fetch would accept."""
    raw = repo.raw
    sha, repo_id, tags = raw.get("sha"), raw.get("id"), raw.get("tags")
    if (
        not isinstance(sha, str)
        or not SHA_RE.match(sha)
        or not isinstance(repo_id, str)
        or "/" not in repo_id
    ):
        return None
    return derivation_key(
        repo_id=repo_id,
        sha=sha,
        pipeline_tag=raw.get("pipeline_tag"),
        tags=tags if isinstance(tags, list) else (),
        library_name=raw.get("library_name"),
        file_names=repo.file_names,
        caps=caps,
    )


def facts_from_hub(repo: RepoFacts, *, caps: tuple[int, int]) -> Facts:
    """Derive listing facts from a fresh Hub answer; absurd values become a HubDataError. The facts carry
    their :func:`derivation_key` (``caps``: the client's file-size caps, part of it)."""
    try:
        derived = derive_facts(repo.files)
    except DerivationError as exc:
        raise HubDataError(f"refusing config.json: {exc}") from None
    except (ArithmeticError, RecursionError, ValueError, TypeError) as exc:
        # A hostile config must stay that model's problem (bad_data), never abort the run.
        raise HubDataError(
            f"refusing config.json: {type(exc).__name__} while deriving: {str(exc)[:200]}"
        ) from None
    provenance = {
        "input_modalities": derived.input_modalities.source,
        "output_modalities": derived.output_modalities.source,
        "template_features": derived.template_features.source,
    }
    if derived.context_length is not None:
        provenance["context_length"] = derived.context_length.source
    return Facts(
        repo_id=repo.repo_id,
        commit_sha=repo.sha,
        created_at=repo.created_at,
        context_length=derived.context_length.value if derived.context_length else None,
        input_modalities=tuple(derived.input_modalities.value),
        output_modalities=tuple(derived.output_modalities.value),
        template_features=(
            tuple(derived.template_features.value) if derived.template_features.value is not None else None
        ),
        pipeline_tag=repo.pipeline_tag,
        provenance=provenance,
        derived_from=_repo_key(repo, caps),
    )


def make_hub_client(
    settings: Settings, counter: RequestCounter | None = None, *, ledger: SpendLedger | None = None
) -> HubClient:
    """The run's Hub client. With a ``ledger`` (the store's), its request budget is the one every run of
    that database shares: resolve_models counts the window's earlier spend first and records its own."""
    return HubClient(
        endpoint=settings.hf_endpoint,
        token=settings.token,
        cache_dir=settings.hub_cache_dir,
        timeout=settings.hub_timeout,
        retries=settings.hub_retries,
        backoff=settings.hub_retry_backoff,
        model_deadline=settings.hub_model_deadline,
        max_config_bytes=settings.max_config_bytes,
        max_template_bytes=settings.max_template_bytes,
        counter=counter,
        budget=RequestBudget(settings.hub_budget, ledger=ledger),
    )


@dataclass(frozen=True)
class HubEta:
    """When the Hub stage should end, for the progress to show: from the pace so far and the budget left."""

    done: int
    total: int
    elapsed: float  # seconds since the stage began
    requests: dict[str, int]  # sent so far, by kind
    budget_wait: float  # seconds the remaining requests must wait for the shared window (0: none)
    remaining: float  # seconds left: the larger of the pace so far and the budget's wait
    finish_at: datetime


def estimate_eta(client: HubClient, *, done: int, total: int, elapsed: float, now: datetime) -> HubEta:
    """The expected end of the Hub stage: remaining models at the pace so far (requests per model as
    measured), but never before the request budget lets the remaining requests through."""
    requests = dict(client.counter.requests)
    left = max(total - done, 0)
    pace = elapsed / done * left if done else 0.0
    wait = 0.0
    if done and left:
        for kind, sent in requests.items():
            wait = max(wait, client.budget.time_until(kind, -(-sent * left // done)))
    remaining = max(pace, wait)
    return HubEta(done, total, elapsed, requests, wait, remaining, now + timedelta(seconds=remaining))


def _answers(
    pool: ThreadPoolExecutor,
    models: Sequence[CatalogModel],
    *,
    min_models: int,
    listed: dict[str, ListedRepo],
    client: HubClient,
    one: Callable[[CatalogModel], Facts | HubError | None],
    reusable: Callable[[CatalogModel], Facts | None],
    sent: Callable[[], None] = lambda: None,
) -> Iterator[tuple[CatalogModel, Facts | HubError | None]]:
    """Every model's answer, as each arrives. The current commits of many repos come from one paginated
    listing per author (authors with ``min_models`` or more catalog models on the default branch); an
    author's models are looked up (or their stored facts reused) as soon as its listing is in, while the
    other listings are still under way. A failed listing just means per-model calls for that author.
    ``sent`` is called once every first request is under way, before any answer is read."""
    authors = Counter(m.hugging_face_id.split("/", 1)[0] for m in models if m.revision is None)
    bulk = {a for a, n in authors.items() if min_models > 0 and n >= min_models}
    waiting: dict[str, list[CatalogModel]] = {}
    pending: dict[Future[Any], CatalogModel | str] = {}
    # Each future reports itself on a queue when done: one wake-up per answer (concurrent.futures.wait over
    # 10,000 pending futures would walk all of them for every answer).
    finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def submit(fn: Callable[..., Any], *args: Any, what: CatalogModel | str) -> None:
        future = pool.submit(fn, *args)
        pending[future] = what
        future.add_done_callback(finished.put)

    for model in models:
        author = model.hugging_face_id.split("/", 1)[0]
        if model.revision is None and author in bulk:
            waiting.setdefault(author, []).append(model)
        else:
            submit(one, model, what=model)
    for author in sorted(waiting):
        submit(_list_or_empty, client, author, what=author)
    try:
        sent()
    except BaseException:
        for future in pending:  # the lookups not started yet never start; the ones under way end on their own
            future.cancel()
        raise
    while pending:
        future = finished.get()
        what = pending.pop(future)
        if isinstance(what, str):  # an author's listing: its models may go now
            listed.update(future.result())
            reused = []
            for model in waiting.pop(what):  # every lookup under way before any reused model is reported
                facts = reusable(model)
                if facts is not None:
                    reused.append((model, facts))
                else:
                    submit(one, model, what=model)
            yield from reused
        else:
            yield what, future.result()


def _list_or_empty(client: HubClient, author: str) -> dict[str, ListedRepo]:
    try:
        return client.list_author(author=author)
    except HubError as exc:
        log.warning("bulk listing of %s failed (%s); falling back to one call per model", author, exc.kind)
        return {}


def resolve_models(
    client: HubClient,
    models: Sequence[CatalogModel],
    *,
    concurrency: int,
    stop: threading.Event | None = None,
    bulk_min_models: int = 2,
    on_lookup: LookupCallback | None = None,
    eta: Callable[[HubEta], None] | None = None,
    known: Mapping[str, Facts] | Callable[[], Mapping[str, Facts]] | None = None,
    on_result: Callable[[CatalogModel, Facts | HubError], None] | None = None,
) -> dict[str, Facts | HubError]:
    """Look every model up; a model not looked up (stopped) is absent from the answer. ``on_lookup`` is
    called (in this thread, in completion order) after each lookup; ``eta`` after each model with the
    expected end of the stage (:func:`estimate_eta`).

    ``known`` holds each model's stored facts: a model whose bulk listing gives the same
    :func:`derivation_key` as its stored facts gets those facts back without a request, a file read or a
    derivation (its commit, metadata, files and the deriving code are all unchanged). A callable ``known`` is
    called once, in this thread, as soon as the first requests are sent: the caller's store read then
    overlaps the Hub's first answers instead of delaying them. ``on_result`` is called
    with each model's answer as it arrives (in this thread, while the other lookups are under way)."""
    listed: dict[str, ListedRepo] = {}
    caps = (client.max_config_bytes, client.max_template_bytes)
    stored_facts: Mapping[str, Facts] = known if known is not None and not callable(known) else {}

    def sent() -> None:
        nonlocal stored_facts
        if callable(known):
            stored_facts = known()

    def checked(model: CatalogModel, facts: Facts) -> Facts:
        if facts.context_length is None and model.context_length is None:
            raise HubDataError(
                f"config.json at {facts.commit_sha[:7]} declares no usable context length "
                "(a length key holding a non-integer, a non-positive number or a no-limit sentinel); "
                "set context_length in the catalog"
            )
        return facts

    def reusable(model: CatalogModel) -> Facts | None:
        stored = stored_facts.get(model.id) if model.revision is None else None
        info = listed.get(model.hugging_face_id) if stored is not None else None
        if stored is None or info is None or stored.derived_from is None or stored.stale_since is not None:
            return None
        if _listed_key(info, caps) != stored.derived_from:
            return None
        try:
            return checked(model, stored)
        except HubDataError:
            return None  # the catalog no longer supplies the length: the fresh path gives the error

    def one(model: CatalogModel) -> Facts | HubError | None:
        if stop is not None and stop.is_set():
            return None  # graceful stop: not looked up, keeps its previous facts (as if skipped)
        try:
            return checked(
                model,
                facts_from_hub(
                    client.fetch(
                        model_id=model.id,
                        repo_id=model.hugging_face_id,
                        revision=model.revision,
                        listed=listed.get(model.hugging_face_id) if model.revision is None else None,
                    ),
                    caps=caps,
                ),
            )
        except HubError as exc:
            exc.model_id = exc.model_id or model.id
            exc.repo = exc.repo or model.hugging_face_id
            return exc
        except Exception as exc:
            log.exception("unexpected failure looking up %s", model.id)
            error = HubDataError(f"unexpected {type(exc).__name__} while reading the repo: {str(exc)[:200]}")
            error.model_id, error.repo, error.revision = model.id, model.hugging_face_id, model.revision
            return error

    results: dict[str, Facts | HubError] = {}
    on_hub = [m for m in models if m.hugging_face_id]
    client.budget.load()  # the shared window's earlier spend counts from this run's first request
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(on_hub) or 1))) as pool:
            started = flushed = time.monotonic()
            done = failures = 0
            answers = _answers(pool, on_hub, min_models=bulk_min_models, listed=listed, client=client, one=one,
                               reusable=reusable, sent=sent)  # fmt: skip
            result: Facts | HubError | None
            for finished, (model, result) in enumerate(answers, 1):
                if result is not None:
                    results[model.id] = result
                    if on_result is not None:
                        on_result(model, result)
                    done += 1
                    failures += isinstance(result, HubError)
                    if on_lookup is not None:
                        on_lookup(
                            Lookup(
                                model_id=model.id,
                                repo=model.hugging_face_id,
                                commit=None if isinstance(result, HubError) else result.commit_sha,
                                error_kind=result.kind if isinstance(result, HubError) else None,
                                error=str(result) if isinstance(result, HubError) else None,
                                done=done,
                                total=len(on_hub),
                                failures=failures,
                                hub_requests=sum(client.counter.requests.values()),
                            )
                        )
                if eta is not None:
                    elapsed = time.monotonic() - started
                    eta(
                        estimate_eta(
                            client, done=finished, total=len(on_hub), elapsed=elapsed, now=datetime.now(UTC)
                        )
                    )
                if time.monotonic() - flushed >= LEDGER_FLUSH_SECONDS:
                    client.budget.flush()  # from this thread only: the store is not shared with the pool
                    flushed = time.monotonic()
    finally:
        client.flush_cache()
        client.budget.flush()
    return results
