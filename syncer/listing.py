"""Merging the house catalog with the Hub's facts into listing entries: pure functions, no I/O.

:func:`merge_model` is where every listed value is decided, and it records where each came from
(catalog key, ``[defaults]``, or Hub file + key + commit) for ``syncer explain``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncer.catalog import CatalogModel
from syncer.derive import display_name
from syncer.errors import CatalogIssue
from syncer.spec import PRICING_KEYS, format_price

PRICE_UNITS = {
    "prompt": "USD per input token",
    "completion": "USD per output token",
    "image": "USD per input image",
    "request": "USD per request",
    "input_cache_read": "USD per cached input token",
}


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


@dataclass(frozen=True)
class Merged:
    model_id: str
    openrouter_entry: dict[str, Any] | None
    catalog_entry: dict[str, Any]
    provenance: dict[str, str]
    warnings: tuple[str, ...] = ()
    issues: tuple[CatalogIssue, ...] = field(default=())


def _from(model: CatalogModel, key: str, defaults_keys: frozenset[str]) -> str:
    return f"defaults: {key}" if key in defaults_keys else f"catalog: {key}"


def _short(sha: str) -> str:
    return sha[:7]


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

    inputs = list(model.input_modalities or (facts.input_modalities if facts else ("text",)))
    prov["input_modalities"] = (
        _from(model, "input_modalities", defaults_keys)
        if model.input_modalities
        else (facts.provenance.get("input_modalities", "hub") + at if facts else "none")
    )
    outputs = list(model.output_modalities or (facts.output_modalities if facts else ("text",)))
    prov["output_modalities"] = (
        _from(model, "output_modalities", defaults_keys)
        if model.output_modalities
        else (facts.provenance.get("output_modalities", "hub") + at if facts else "none")
    )

    native = facts.context_length if facts else None
    cap = model.context_length
    context_length: int | None
    if native is None:
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
    pricing = {k: pricing[k] for k in PRICING_KEYS if k in pricing}
    prov["pricing"] = _from(model, "pricing", defaults_keys)

    features = list(model.supported_features)
    prov["supported_features"] = _from(model, "supported_features", defaults_keys)
    if facts and facts.template_features is not None:
        hints = set(facts.template_features)
        for feature in ("tools", "reasoning"):
            if feature in features and feature not in hints:
                warnings.append(
                    f"catalog claims {feature!r} but the chat template shows no sign of it"
                    f" ({facts.provenance.get('template_features', 'chat template')}{at})"
                )
    sampling = list(model.supported_sampling_parameters)
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
            openrouter_entry["quantization"] = model.quantization
        openrouter_entry |= {
            "context_length": context_length,
            "max_output_length": model.max_output_length,
            "pricing": pricing,
            "supported_sampling_parameters": sampling,
            "supported_features": features,
            "is_ready": is_ready,
            "openrouter": {"slug": model.openrouter.slug},
            "datacenters": [{"country_code": c} for c in model.datacenters],
        }
        if model.description:
            openrouter_entry["description"] = model.description
        if model.deprecation_date:
            openrouter_entry["deprecation_date"] = model.deprecation_date
        prov["openrouter.slug"] = "catalog: openrouter.slug"

    org = hf_id.split("/", 1)[0] if hf_id else "house"
    catalog_created = (
        created if created is not None else int((first_seen_at or datetime.now(UTC)).timestamp())
    )
    catalog_entry: dict[str, Any] = {
        "id": model.id,
        "object": "model",
        "created": catalog_created,
        "owned_by": org,
        "display_name": name,
        "provider": org,
        "hugging_face_id": hf_id,
        "quantization": model.quantization,
        "input_modalities": inputs,
        "output_modalities": outputs,
        "context_length": context_length,
        "max_output_tokens": model.max_output_length,
        "model_released_at": (
            datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d") if created is not None else None
        ),
        "pricing": {k: {"amount": v, "unit": PRICE_UNITS[k]} for k, v in pricing.items()},
        "features": features,
        "supported_sampling_parameters": sampling,
        "served_from": list(model.datacenters),
        "status": "ready" if model.is_ready and resolved else "staging",
    }
    if facts and facts.stale_since is not None:
        catalog_entry["stale_since"] = facts.stale_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Merged(
        model_id=model.id,
        openrouter_entry=openrouter_entry,
        catalog_entry=catalog_entry,
        provenance=prov,
        warnings=tuple(warnings),
        issues=tuple(issues),
    )


def openrouter_document(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"data": sorted(entries, key=lambda e: str(e["id"]))}


def catalog_document(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": sorted(entries, key=lambda e: str(e["id"]))}
