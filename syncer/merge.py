"""The merge stage of a run: each catalog model, its Hub result and its stored past become one listing
record, one outcome for the report and one facts update for the store. Pure: no I/O, no clock (``now`` is
passed in).

A model whose lookup failed keeps its last good facts; one the Hub says is gone is dropped only after the
stale policy's runs or days; one never resolved stays out of the OpenRouter view.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syncer.catalog import Catalog, CatalogModel
from syncer.errors import CatalogIssue, HubError
from syncer.listing import Facts, Merged, merge_model
from syncer.states import ModelStatus
from syncer.store import FactsUpdate, Prior, StoredMerged

#: Hub answers that say the repo is gone (or closed to us): the stale policy counts them.
STALE_KINDS = ("not_found", "gated_no_access")


@dataclass
class ModelOutcome:
    model_id: str
    repo: str
    status: ModelStatus
    commit: str | None = None
    context_length: int | None = None
    input_modalities: list[str] = field(default_factory=list)
    listed: bool = False
    error_kind: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


ProgressCallback = Callable[[ModelOutcome, int, int], None]


@dataclass(frozen=True)
class StalePolicy:
    drop_after_runs: int
    drop_after_days: float | None
    not_ready_after_hours: float | None


@dataclass
class Merge:
    """Everything the run decided, before anything is written."""

    merged: dict[str, Merged]
    outcomes: list[ModelOutcome]
    facts: list[FactsUpdate]
    issues: list[CatalogIssue]
    #: models whose stored entries were reused (same merge key), each with whether its listing status
    #: changed: their catalog, price and entry rows need no write, at most the status
    reused: dict[str, bool] = field(default_factory=dict)
    #: the reused models' stored keys and summaries (their entries are in the store, not in ``merged``)
    kept: dict[str, StoredMerged] = field(default_factory=dict)

    def digests(self) -> dict[str, str | None]:
        """Every model's entries digest (``Merged.digest``; None: unknown, or entries that break a rule)."""
        fresh = {m: None if any(e.entry_problems.values()) else e.digest for m, e in self.merged.items()}
        return {m: s.digest for m, s in self.kept.items()} | fresh

    @property
    def statuses(self) -> dict[str, str]:
        return {o.model_id: o.status for o in self.outcomes}


def merge_key(
    *,
    stamp: str,
    model_digest: str,
    facts: Facts | None,
    catalog_file: str,
    defaults_keys: frozenset[str],
    first_seen_at: datetime | None,
    not_ready_reason: str | None,
) -> str:
    """The key of everything :func:`~syncer.listing.merge_model` reads: the merging code (``stamp``,
    :func:`syncer.stamps.merge_stamp`), the catalog entry as written (``model_digest``, from
    :attr:`Catalog.digests`), the facts (by their derivation key when they have one) and the rest of its
    arguments. Equal keys mean equal entries, so stored entries with the same key may be reused."""
    if facts is None:
        facts_part: object = None
    elif facts.derived_from is not None:  # the derivation key fixes every fact but staleness
        facts_part = [facts.derived_from, facts.stale_since.isoformat() if facts.stale_since else None]
    else:
        facts_part = [
            facts.repo_id,
            facts.commit_sha,
            facts.created_at.isoformat() if facts.created_at else None,
            facts.context_length,
            list(facts.input_modalities),
            list(facts.output_modalities),
            list(facts.template_features) if facts.template_features is not None else None,
            facts.pipeline_tag,
            dict(facts.provenance),
            facts.stale_since.isoformat() if facts.stale_since else None,
        ]
    inputs = [
        stamp,
        model_digest,
        facts_part,
        catalog_file,
        sorted(defaults_keys),
        first_seen_at.isoformat() if first_seen_at else None,
        not_ready_reason,
    ]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def merge_one(
    model: CatalogModel,
    result: Facts | HubError | None,
    prior: Prior | None,
    *,
    catalog: Catalog,
    policy: StalePolicy,
    now: datetime,
    stored: StoredMerged | None = None,
    stamp: str | None = None,
) -> tuple[Merged | StoredMerged, ModelOutcome, FactsUpdate | None]:
    """One model: ``result`` is the fresh Facts, the HubError of a failed lookup, or None (not looked up).

    With the merging code's ``stamp``, the entries carry their :func:`merge_key`; when the ``stored``
    entries have the same key, ``stored`` itself is returned: those entries are this merge's (validated
    when they were made, by the same code), and stay in the store until a view needs them."""
    outcome = ModelOutcome(model_id=model.id, repo=model.hugging_face_id, status=ModelStatus.SKIPPED)
    old_repo = prior.requested_repo if prior is not None else None
    if prior is not None and old_repo is not None and old_repo != model.hugging_face_id:
        # The catalog points the model at another repo: not a Hub rename (only a Hub redirect is one), and
        # the old repo's facts and health are not the new repo's last good facts.
        outcome.warnings.append(
            f"the catalog changed hugging_face_id from {old_repo or '(not on the Hub)'} to"
            f" {model.hugging_face_id or '(not on the Hub)'}"
            + ("" if isinstance(result, Facts) else f": {old_repo or 'its'} facts are not used for it")
        )
        prior = dataclasses.replace(
            prior, facts=None, has_row=False, consecutive_failures=0, stale_since=None
        )
    previous = prior.facts if prior is not None else None
    update: FactsUpdate | None = None
    facts: Facts | None
    if isinstance(result, Facts):
        facts = result
        outcome.status = (
            ModelStatus.UNCHANGED if previous is not None and previous == result else ModelStatus.SYNCED
        )
        outcome.commit = result.commit_sha
        update = FactsUpdate(
            model_id=model.id, requested_repo=model.hugging_face_id, revision=model.revision, facts=result,
            reused=previous is not None and previous == result and previous.derived_from == result.derived_from,
        )  # fmt: skip
    elif isinstance(result, HubError):
        facts = previous
        outcome.status = ModelStatus.FAILED if previous is not None else ModelStatus.UNRESOLVED
        outcome.error_kind, outcome.error = result.kind, str(result)
        outcome.commit = previous.commit_sha if previous else None
        update = _failure(model, result, prior, now)
        if previous is not None and update.stale_since != previous.stale_since:
            facts = dataclasses.replace(previous, stale_since=update.stale_since)
        drop_reason = _drop_reason(policy, update, now) if previous is not None else None
        if drop_reason:
            facts, outcome.status = None, ModelStatus.DROPPED
            outcome.warnings.append(f"DROPPED from the listing: {drop_reason}")
    else:
        facts = previous
        outcome.commit = previous.commit_sha if previous else None
    first_seen = prior.first_seen_at if prior is not None and prior.first_seen_at is not None else now
    defaults_keys = catalog.defaulted.get(model.id, frozenset())
    not_ready = _not_ready_reason(policy, facts, now)
    digest = catalog.digests.get(model.id)
    key = None
    if stamp is not None and digest is not None:
        key = merge_key(stamp=stamp, model_digest=digest, facts=facts, catalog_file=str(catalog.path),
                        defaults_keys=defaults_keys, first_seen_at=first_seen, not_ready_reason=not_ready)  # fmt: skip
    if key is not None and stored is not None and stored.key == key:
        # The stored entries are these (same key): report them from their summary; the entries themselves
        # are read only if a view must be rendered.
        outcome.context_length = stored.summary.get("context_length")
        outcome.input_modalities = list(stored.summary.get("input_modalities") or ())
        outcome.listed = bool(stored.summary.get("listed"))
        outcome.warnings += list(stored.warnings)
        return stored, outcome, update
    merged = merge_model(
        model=model, facts=facts, catalog_file=str(catalog.path), defaults_keys=defaults_keys,
        first_seen_at=first_seen, not_ready_reason=not_ready,
    )  # fmt: skip
    merged = dataclasses.replace(merged, key=key)
    merged.digest  # noqa: B018 - encoded (Merged.texts) and hashed now, while a cold run's Hub answers come in
    outcome.context_length = merged.catalog_entry["context_length"]
    outcome.input_modalities = list(merged.catalog_entry["input_modalities"])
    outcome.listed = merged.openrouter_entry is not None
    outcome.warnings += list(merged.warnings)
    return merged, outcome, update


def _failure(model: CatalogModel, error: HubError, prior: Prior | None, now: datetime) -> FactsUpdate:
    """Keep every last good fact; count the failure, and mark a repo that is gone as stale."""
    stale_since = prior.stale_since if prior is not None else None
    if error.kind in STALE_KINDS and stale_since is None and prior is not None and prior.has_row:
        stale_since = now
    return FactsUpdate(
        model_id=model.id,
        requested_repo=model.hugging_face_id,
        revision=model.revision,
        facts=None,
        error_kind=error.kind,
        error=str(error),
        consecutive_failures=(prior.consecutive_failures if prior is not None else 0) + 1,
        stale_since=stale_since,
    )


def _drop_reason(policy: StalePolicy, update: FactsUpdate, now: datetime) -> str | None:
    """A model the Hub says is gone is dropped only after the configured number of runs or days."""
    if update.error_kind not in STALE_KINDS:
        return None
    if update.consecutive_failures >= policy.drop_after_runs:
        return f"{update.consecutive_failures} consecutive runs failed with {update.error_kind}"
    since = update.stale_since
    if policy.drop_after_days and since and now - since >= timedelta(days=policy.drop_after_days):
        return f"stale since {since:%Y-%m-%d %H:%M} UTC ({update.error_kind})"
    return None


def _not_ready_reason(policy: StalePolicy, facts: Facts | None, now: datetime) -> str | None:
    hours = policy.not_ready_after_hours
    if facts is None or facts.stale_since is None or hours is None:
        return None
    if now - facts.stale_since >= timedelta(hours=hours):
        return f"stale since {facts.stale_since:%Y-%m-%d %H:%M} UTC (more than {hours:g} h)"
    return None


#: Failures that mean the Hub gave no answer (timeouts, 5xx, 429, resets, truncated bodies), unlike a 404,
#: a gated repo or refused data, which are the Hub's answers about one repo.
UNREACHABLE_KINDS = ("transient", "bad_body")


def is_outage(outcomes: Sequence[ModelOutcome]) -> bool:
    """No Hub lookup of the run succeeded and none got an answer: the run confirmed nothing (an outage, or a
    wrong HF_ENDPOINT). A run whose only model the Hub says is gone is an answer, not an outage."""
    looked_up = [o for o in outcomes if o.status != ModelStatus.SKIPPED and o.repo]
    return bool(looked_up) and all(o.error_kind in UNREACHABLE_KINDS for o in looked_up)


def run_message(outcomes: Sequence[ModelOutcome], not_looked_up: int) -> str | None:
    """The run's one-line note: every lookup failed (the Hub looks unreachable), or the run stopped early."""
    parts = []
    looked_up = [o for o in outcomes if o.status != ModelStatus.SKIPPED and o.repo]
    failed = [o for o in looked_up if o.error_kind]
    if looked_up and len(failed) == len(looked_up):
        kinds = Counter(o.error_kind for o in failed).most_common(1)[0][0]
        parts.append(
            f"every Hub lookup failed ({len(failed)} models, mostly {kinds}): the Hub looks unreachable; "
            "every model keeps its last good facts; nothing was confirmed, so nothing was published "
            "(the run is recorded as error)"
        )
    if not_looked_up:
        parts.append(f"stopped early: {not_looked_up} model(s) not looked up")
    return "; ".join(parts) or None


#: one model merged early: the answer it was merged from, and what :func:`merge_one` returned
EarlyMerge = tuple[Facts | HubError | None, tuple[Merged | StoredMerged, ModelOutcome, FactsUpdate | None]]


def merge_all(
    catalog: Catalog,
    fetched: Mapping[str, Facts | HubError],
    prior: Mapping[str, Prior],
    *,
    policy: StalePolicy,
    now: datetime,
    progress: ProgressCallback | None = None,
    stored: Mapping[str, StoredMerged] | None = None,
    stamp: str | None = None,
    early: Mapping[str, EarlyMerge] | None = None,
) -> Merge:
    """Every model of the catalog, in catalog order. ``stored`` and ``stamp``: see :func:`merge_one`.
    ``early``: models already merged by :func:`merge_one` (with the same arguments) while the Hub stage was
    still under way, each with the answer it was merged from; used when that is still the model's answer."""
    result = Merge(merged={}, outcomes=[], facts=[], issues=[])
    total = len(catalog.models)
    stored = stored or {}
    early = early or {}
    for index, model in enumerate(catalog.models, start=1):
        answer = fetched.get(model.id)
        done = early.get(model.id)
        if done is not None and done[0] is answer:
            merged, outcome, update = done[1]
        else:
            merged, outcome, update = merge_one(
                model, answer, prior.get(model.id), catalog=catalog, policy=policy, now=now,
                stored=stored.get(model.id), stamp=stamp,
            )  # fmt: skip
        if isinstance(merged, StoredMerged):
            result.reused[model.id] = outcome.status != merged.status
            result.kept[model.id] = merged
        else:
            result.merged[model.id] = merged
            result.issues += merged.issues
        result.outcomes.append(outcome)
        if update is not None:
            result.facts.append(update)
        if progress is not None:
            progress(outcome, index, total)
    return result
