"""Merging the house catalog with the Hub's facts into listing entries: pure functions, no I/O.

:func:`merge_model` is where every listed value is decided, and it records where each came from
(catalog key, ``[defaults]``, or Hub file + key + commit) for ``syncer explain``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from syncer.catalog import OVERRIDE_PRICE_KEYS, CatalogModel
from syncer.derive import assumed_window, assumed_window_warning, derive_category, display_name
from syncer.errors import CatalogIssue
from syncer.formats import CATALOG_FEATURE_ALIASES, TIER_THRESHOLD_KEY, PricingKey, format_price
from syncer.formats.views import ENTRY_VALIDATORS, View, encode_json
from syncer.listing_v2 import country_codes, json_number, openrouter_v2_entry_of, v2_provenance
from syncer.parameters import apply_overrides, house_parameters, reasoning_controls


@dataclass(frozen=True)
class Facts:
    """The Hub's facts about one checkpoint at one commit, as stored (fresh or last good)."""

    repo_id: str
    commit_sha: str
    created_at: datetime | None
    context_length: int | None
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    template_features: tuple[str, ...] | None
    pipeline_tag: str | None
    provenance: Mapping[str, str]
    stale_since: datetime | None = None
    #: the key of what these facts were derived from (syncer.resolve.derivation_key); a later run whose
    #: Hub listing gives the same key reuses them without reading or deriving a file. Not a fact: facts
    #: stored before the key existed equal the same facts derived again.
    derived_from: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Merged:
    model_id: str
    openrouter_entry: dict[str, Any] | None
    catalog_entry: dict[str, Any]
    provenance: dict[str, str]
    warnings: tuple[str, ...] = ()
    issues: tuple[CatalogIssue, ...] = field(default=())
    #: the same model in OpenRouter's 2.4 document (present exactly when ``openrouter_entry`` is)
    openrouter_v2_entry: dict[str, Any] | None = None
    #: what each view's entry validator found, by view (empty: every entry valid); each entry is validated
    #: once, here, and the snapshot build checks only the documents' own rules (see snapshot.checked_bytes)
    entry_problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: the key of everything these entries were merged from (syncer.merge.merge_key), when known
    key: str | None = field(default=None, compare=False)

    @functools.cached_property
    def texts(self) -> tuple[str, str, str]:
        """The three entries (OpenRouter, catalog, OpenRouter 2.4) as JSON text, encoded once (``null``: no
        entry): the digest, the store's rows and the files' lines are these texts. Computed when the entries
        are merged (syncer.merge.merge_one), so a cold run encodes them while the Hub is still answering. The
        entries are never changed once merged (a change would be a new Merged)."""
        return (
            encode_json(self.openrouter_entry),
            encode_json(self.catalog_entry),
            encode_json(self.openrouter_v2_entry),
        )

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of the three entries exactly as built, values and key order (the files render each entry
        in the order its keys were built): equal digests, equal bytes in every view. The text hashed is the
        JSON list of the three, ``[a, b, c]``, as digests stored before the texts existed were made."""
        return hashlib.sha256(("[" + ", ".join(self.texts) + "]").encode()).hexdigest()


def _from(model: CatalogModel, key: str, defaults_keys: frozenset[str]) -> str:
    if key in defaults_keys:
        return f"defaults: {key}"
    if key in model.model_fields_set:
        return f"catalog: {key}"
    return f"built-in default: {key} = {json.dumps(getattr(model, key), default=str)}"


def _short(sha: str) -> str:
    return sha[:7]


PriceValue = Decimal | str
#: categories whose models never chat, and the claims that make no sense for them (claim_contradicted)
NON_CHAT_CATEGORIES = {
    "embedding": "an embedding model",
    "rerank": "a rerank model",
    "audio": "a speech model",
}
CHAT_ONLY_FEATURES = ("tools", "reasoning", "json_mode", "structured_outputs")


def _price_strings(prices: Mapping[str, PriceValue]) -> dict[str, str]:
    """Every key as a plain decimal string: the listing's known keys in their order, then any other key."""
    plain = {str(k): v if isinstance(v, str) else format_price(v) for k, v in prices.items()}
    known = [key.value for key in PricingKey if key.value in plain]
    return {key: plain[key] for key in (*known, *(k for k in plain if k not in known))}


def catalog_pricing(
    prices: Mapping[str, PriceValue], tiers: Sequence[tuple[int, Mapping[str, PriceValue]]] = ()
) -> dict[str, str] | list[dict[str, Any]]:
    """The catalog view's ``pricing``: ``{key: "decimal string"}`` for every price key the model has (per
    token unless the key says otherwise; the same exact strings as the OpenRouter view), or, when the model
    has long-context tiers, a list of such objects: the base tier first, then each tier
    ``(threshold, prices)`` in rising threshold order with ``above_prompt_tokens: threshold``. A later tier
    lists the keys it changes, over the base tier's others. Units are documented, never inlined."""
    base = _price_strings(prices)
    if not tiers:
        return base
    result: list[dict[str, Any]] = [base]
    for threshold, tier in sorted(tiers, key=lambda t: t[0]):
        result.append({**base, **_price_strings(tier), TIER_THRESHOLD_KEY: threshold})
    return result


def catalog_features(features: Sequence[str]) -> list[str]:
    """The catalog view's ``features``: the OpenRouter words as listed, then the aliases model databases
    read (``function_calling`` for ``tools``, ``structured_output`` for ``structured_outputs``)."""
    words = list(features)
    return words + [CATALOG_FEATURE_ALIASES[w] for w in words if w in CATALOG_FEATURE_ALIASES]


def merge_model(
    *,
    model: CatalogModel,
    facts: Facts | None,
    catalog_file: str,
    defaults_keys: frozenset[str] = frozenset(),
    first_seen_at: datetime | None = None,
    not_ready_reason: str | None = None,
) -> Merged:
    """Decide every listed value of one model. ``facts`` None means the Hub never resolved it."""
    prov: dict[str, str] = {}
    issues: list[CatalogIssue] = []
    warnings: list[str] = []
    at = f" @ {_short(facts.commit_sha)}" if facts else ""

    prov["id"] = "catalog: id"
    hf_id = facts.repo_id if facts else model.hugging_face_id
    prov["hugging_face_id"] = (
        f"hub: canonical id (catalog says {model.hugging_face_id}){at}"
        if facts and facts.repo_id != model.hugging_face_id
        else "catalog: hugging_face_id"
    )
    if facts and facts.repo_id != model.hugging_face_id:
        warnings.append(f"renamed on the Hub: {model.hugging_face_id} -> {facts.repo_id}; update the catalog")

    name = model.name or display_name(hf_id or model.id)
    prov["name"] = "catalog: name" if model.name else f"derived from repo name {hf_id}"

    created: int | None
    if model.created is not None:
        created, prov["created"] = model.created, "catalog: created"
    elif facts and facts.created_at is not None:
        created = int(facts.created_at.timestamp())
        prov["created"] = f"hub: repo createdAt {facts.created_at.strftime('%Y-%m-%dT%H:%M:%SZ')}{at}"
    else:
        created = None

    inputs = [str(m) for m in model.input_modalities or (facts.input_modalities if facts else ("text",))]
    prov["input_modalities"] = (
        _from(model, "input_modalities", defaults_keys)
        if model.input_modalities
        else (facts.provenance.get("input_modalities", "hub") + at if facts else "none")
    )
    outputs = [str(m) for m in model.output_modalities or (facts.output_modalities if facts else ("text",))]
    prov["output_modalities"] = (
        _from(model, "output_modalities", defaults_keys)
        if model.output_modalities
        else (facts.provenance.get("output_modalities", "hub") + at if facts else "none")
    )

    native = facts.context_length if facts else None
    cap = model.context_length
    context_length: int | None
    assumed = (
        facts is not None and native is not None and assumed_window(facts.provenance.get("context_length"))
    )
    if assumed and cap is not None:
        # vLLM serves the engine's max_model_len as given when nothing declares a length: the cap is the window.
        context_length = cap
        prov["context_length"] = (
            f"catalog: context_length (the Hub config declares none; vLLM would assume {native}{at})"
        )
    elif native is None:
        context_length = cap
        prov["context_length"] = "catalog: context_length (the Hub config declares none)" if cap else "none"
    elif cap is None:
        context_length = native
        prov["context_length"] = (
            f"hub: {facts.provenance.get('context_length', 'config.json')}{at}" if facts else ""
        )
    elif cap <= native:
        context_length = cap
        prov["context_length"] = f"catalog: context_length cap {cap} (native {native}{at})"
    elif model.allow_context_above_native:
        context_length = cap
        prov["context_length"] = (
            f"catalog: context_length {cap} above native {native} (allow_context_above_native)"
        )
    else:
        context_length = native
        issues.append(
            CatalogIssue(
                catalog_file,
                model.id,
                "context_length",
                f"cap {cap} is above the checkpoint's native window {native}{at}",
                "lower it, or set allow_context_above_native = true if you serve with your own rope scaling",
            )
        )
    if assumed and cap is None and native is not None:
        warnings.append(assumed_window_warning(native))
    if context_length is not None and model.max_output_length > context_length:
        issues.append(
            CatalogIssue(
                catalog_file,
                model.id,
                "max_output_length",
                f"{model.max_output_length} is above the listed context length {context_length}",
                "max_output_length must not exceed context_length",
            )
        )
    prov["max_output_length"] = _from(model, "max_output_length", defaults_keys)

    pricing = {k: format_price(v) for k, v in model.pricing.as_dict().items()}
    pricing = {key.value: pricing[key] for key in PricingKey if key in pricing}
    prov["pricing"] = _from(model, "pricing", defaults_keys)
    flat_overrides = [
        {
            k: (format_price(v) if k in OVERRIDE_PRICE_KEYS else v)
            for k, v in o.model_dump().items()
            if v is not None
        }
        for o in model.pricing.overrides or ()
    ]
    for key in ("input_cache_write", "internal_reasoning", "web_search", "overrides"):  # flat: pricing
        if getattr(model.pricing, key) is not None:
            prov[f"pricing.{key}"] = f"{prov['pricing']}.{key}"
    if model.is_free and any(v != 0 for v in model.pricing.as_dict().values()):
        warnings.append(
            "is_free = true with non-zero prices: OpenRouter ignores the prices of a free variant"
        )
    for key in ("is_free", "discount_to_user", "tokenizer", "compliance", "capacity"):
        if key in model.model_fields_set or key in defaults_keys:
            prov[key] = _from(model, key, defaults_keys)
    if model.capacity is not None and model.capacity.prompt_tokens_per_minute is not None:
        prov["capacity_tpm"] = f"{prov['capacity']}.prompt_tokens_per_minute"

    features = [str(f) for f in model.supported_features]
    prov["supported_features"] = _from(model, "supported_features", defaults_keys)
    if facts and facts.template_features is not None:
        hints = set(facts.template_features)
        for feature in ("tools", "reasoning"):
            if feature in features and feature not in hints:
                warnings.append(
                    f"catalog claims {feature!r} but the chat template shows no sign of it"
                    f" ({facts.provenance.get('template_features', 'chat template')}{at})"
                )
    kind = (
        model.category.value
        if model.category
        else derive_category(outputs, facts.pipeline_tag if facts else None).value
    )
    if kind in NON_CHAT_CATEGORIES:
        for feature in features:
            if feature in CHAT_ONLY_FEATURES:
                warnings.append(
                    f"catalog claims {feature!r} for {NON_CHAT_CATEGORIES[kind]} (category {kind}):"
                    " it makes no sense there; drop it from supported_features"
                )
    if context_length is not None and model.max_output_length == context_length:
        warnings.append(
            f"catalog claims max_output_length {model.max_output_length} equal to context_length"
            f" {context_length}: a client sending max_tokens = max_output_length fails on every request"
            " with any prompt; lower max_output_length"
        )
    sampling = [str(p) for p in model.supported_sampling_parameters]
    prov["supported_sampling_parameters"] = _from(model, "supported_sampling_parameters", defaults_keys)
    is_ready = model.is_ready and not_ready_reason is None
    prov["is_ready"] = (
        f"sync health: {not_ready_reason}"
        if model.is_ready and not_ready_reason
        else _from(model, "is_ready", defaults_keys)
    )
    prov["datacenters"] = _from(model, "datacenters", defaults_keys)
    if model.quantization:
        prov["quantization"] = _from(model, "quantization", defaults_keys)

    resolved = facts is not None and created is not None and context_length is not None
    openrouter_entry: dict[str, Any] | None = None
    if model.openrouter is not None and resolved and not issues:
        openrouter_entry = {
            "id": model.id,
            "hugging_face_id": hf_id,
            "name": name,
            "created": created,
            "input_modalities": inputs,
            "output_modalities": outputs,
        }
        if model.quantization:
            openrouter_entry["quantization"] = model.quantization.value
        openrouter_entry |= {
            "context_length": context_length,
            "max_output_length": model.max_output_length,
            "pricing": pricing,
            "supported_sampling_parameters": sampling,
            "supported_features": features,
            "is_ready": is_ready,
            "openrouter": {"slug": model.openrouter.slug},
            "datacenters": [{"country_code": code} for code in country_codes(model)],
        }
        if model.description:
            openrouter_entry["description"] = model.description
        if model.deprecation_date:
            openrouter_entry["deprecation_date"] = model.deprecation_date
        if flat_overrides:
            pricing_with_overrides = {**pricing, "overrides": flat_overrides}
            openrouter_entry["pricing"] = pricing_with_overrides
        if "is_free" in model.model_fields_set:
            openrouter_entry["is_free"] = model.is_free
        if model.discount_to_user is not None:
            openrouter_entry["discount_to_user"] = json_number(model.discount_to_user)
        if model.capacity is not None and model.capacity.prompt_tokens_per_minute is not None:
            openrouter_entry["capacity_tpm"] = model.capacity.prompt_tokens_per_minute
        prov["openrouter.slug"] = "catalog: openrouter.slug"

    catalog_entry = _catalog_entry(
        model=model,
        facts=facts,
        prov=prov,
        hf_id=hf_id,
        name=name,
        created=created,
        inputs=inputs,
        outputs=outputs,
        context_length=context_length,
        pricing=pricing
        | {
            k: format_price(v)
            for k in ("input_cache_write", "internal_reasoning", "web_search")
            if (v := getattr(model.pricing, k)) is not None
        },
        tiers=[
            (o.min_prompt_tokens, {k: format_price(v) for k, v in o.prices().items()})
            for o in model.pricing.overrides or ()
            if o.min_prompt_tokens is not None
        ],
        features=features,
        sampling=sampling,
        ready=is_ready and resolved,
        first_seen_at=first_seen_at,
        defaults_keys=defaults_keys,
    )
    openrouter_v2_entry = (
        None
        if openrouter_entry is None
        else openrouter_v2_entry_of(model, openrouter_entry, catalog_entry["supported_parameters"])
    )
    if openrouter_v2_entry is not None:
        prov |= v2_provenance(openrouter_v2_entry, prov)
    entries = {
        View.OPENROUTER: openrouter_entry,
        View.CATALOG: catalog_entry,
        View.OPENROUTER_V2: openrouter_v2_entry,
    }
    problems = {
        str(view): tuple(found)
        for view, entry in entries.items()
        if entry is not None and (found := ENTRY_VALIDATORS[view](entry))
    }
    return Merged(
        entry_problems=problems,
        model_id=model.id,
        openrouter_v2_entry=openrouter_v2_entry,
        openrouter_entry=openrouter_entry,
        catalog_entry=catalog_entry,
        provenance=prov,
        warnings=tuple(warnings),
        issues=tuple(issues),
    )


def _template_source(facts: Facts | None) -> str:
    if facts is None:
        return ""
    where = facts.provenance.get("template_features", "chat template")
    return f"hub: {where} @ {_short(facts.commit_sha)}"


def _hub_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _catalog_entry(
    *,
    model: CatalogModel,
    facts: Facts | None,
    prov: dict[str, str],
    hf_id: str,
    name: str,
    created: int | None,
    inputs: list[str],
    outputs: list[str],
    context_length: int | None,
    pricing: Mapping[str, str],
    tiers: Sequence[tuple[int, Mapping[str, str]]] = (),
    features: Sequence[str],
    sampling: Sequence[str],
    ready: bool,
    first_seen_at: datetime | None,
    defaults_keys: frozenset[str],
) -> dict[str, Any]:
    """The standard catalog view's entry (``catalog.json``, ``GET /v1/models``): the OpenAI core
    (``id``, ``object``, ``created``, ``owned_by``) plus what model databases read. Adds each field's
    source to ``prov``. Never filtered by the OpenRouter flag."""
    at = f" @ {_short(facts.commit_sha)}" if facts else ""
    if created is None:
        seen = first_seen_at or datetime.now(UTC)
        catalog_created = int(seen.timestamp())
        prov.setdefault(
            "created", f"first seen by the house at {_hub_time(seen)} (the Hub never resolved it)"
        )
    else:
        catalog_created = created

    if model.provider:
        provider = model.provider
        prov["provider"] = _from(model, "provider", defaults_keys)
    elif hf_id:
        provider = hf_id.split("/", 1)[0]
        prov["provider"] = f"hub: organisation of {hf_id}"
    else:
        provider = "house"
        prov["provider"] = "built-in default: house (a model not on the Hub)"
    prov["owned_by"] = prov["provider"]
    prov["object"] = 'constant: "model" (OpenAI list shape)'
    prov["display_name"] = prov["name"]

    if model.category:
        category = model.category.value
        prov["category"] = _from(model, "category", defaults_keys)
    else:
        derived = derive_category(outputs, facts.pipeline_tag if facts else None)
        category = derived.value
        via = (
            "hub" if facts and (model.output_modalities is None or "pipeline_tag" in derived.source) else None
        )
        prov["category"] = f"{via}: {derived.source}{at}" if via else f"derived from catalog {derived.source}"

    released: str | None
    if model.release_date is not None:
        released = model.release_date.isoformat()
        prov["model_released_at"] = "catalog: release_date"
    elif created is not None:
        released = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d")
        prov["model_released_at"] = prov.get("created", "catalog: created")
    else:
        released = None
        prov["model_released_at"] = "none (the Hub never resolved it and the catalog gives no release_date)"
    prov["max_output_tokens"] = prov["max_output_length"]

    capabilities = {
        "vision": "image" in inputs,
        "reasoning": "reasoning" in features,
        "tools": "tools" in features,
        "json_mode": "json_mode" in features,
        "structured_outputs": "structured_outputs" in features,
        "streaming": category in ("text", "audio"),
    }
    prov["capabilities"] = (
        "vision: input_modalities; reasoning, tools, json_mode, structured_outputs: "
        f"{prov['supported_features']}; streaming: category {category}"
    )
    prov["features"] = prov["supported_features"]

    house = house_parameters(
        sampling=sampling,
        features=features,
        max_output_tokens=model.max_output_length,
        generates_text=category in ("text", "audio") and "text" in outputs,
        controls=reasoning_controls(facts.template_features if facts else None),
    )
    overrides = {n: o.model_dump(exclude_defaults=True) for n, o in model.supported_parameters.items()}
    parameters = apply_overrides(house, overrides)
    source = (
        f"house parameter table for {prov['supported_sampling_parameters']} and {prov['supported_features']}"
    )
    if "reasoning" in features:
        source += (
            f"; reasoning control from {prov_template}" if (prov_template := _template_source(facts)) else ""
        )
    if overrides:
        source += f"; {_from(model, 'supported_parameters', defaults_keys)} ({', '.join(sorted(overrides))})"
    prov["supported_parameters"] = source
    prov["served_from"] = prov["datacenters"]
    prov["status"] = (
        f"ready: {prov['is_ready']}"
        if ready
        else f"staging: {prov['is_ready']}" + ("" if facts else " (the Hub never resolved it)")
    )

    entry: dict[str, Any] = {
        "id": model.id,
        "object": "model",
        "created": catalog_created,
        "owned_by": provider,
        "display_name": name,
        "provider": provider,
        "hugging_face_id": hf_id,
        "quantization": model.quantization.value if model.quantization else None,
        "category": category,
        "input_modalities": inputs,
        "output_modalities": outputs,
        "context_length": context_length,
        "max_output_tokens": model.max_output_length,
        "model_released_at": released,
        "pricing": catalog_pricing(pricing, tiers),
        "capabilities": capabilities,
        "features": catalog_features(features),
        "supported_parameters": parameters,
        "served_from": country_codes(model),
        "status": "ready" if ready else "staging",
    }
    if "is_free" in model.model_fields_set:
        entry["is_free"] = model.is_free
    if model.discount_to_user is not None:
        entry["discount_to_user"] = json_number(model.discount_to_user)
    if facts and facts.stale_since is not None:
        entry["stale_since"] = _hub_time(facts.stale_since)
        prov["stale_since"] = f"hub: lookups failing since {entry['stale_since']}; last good facts{at}"
    return entry


def openrouter_document(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"data": sorted(entries, key=lambda e: str(e["id"]))}


def openrouter_v2_document(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"data": sorted(entries, key=lambda e: str(e["id"]))}


def catalog_document(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": sorted(entries, key=lambda e: str(e["id"]))}
