"""``syncer explain ID``: every field of one model's listing entries, its value, and where it came from.

The sources are the provenance stored with each listing record at sync time: a catalog key, ``[defaults]``,
a built-in default, or a Hub file + key + commit (``hub: config.json rope_scaling yarn 4096 x 40 @ 1a2b3c4``).
Every view is explained: the OpenRouter flat entry (when the model is in that view), the catalog view, and
the model's entry of the published 2.4 document (``openrouter-v2.json``): a 2.4 field is its own row (view
``openrouter-v2``) when its value is not the flat field's (the typed modalities, the root prices and
capacity, regions, compliance, tokenizer, the schema version); the others are the flat rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from syncer import snapshot as snap
from syncer.errors import ConfigError
from syncer.listing_v2 import V2_PROVENANCE_PREFIX
from syncer.settings import Settings
from syncer.store import Store

UNRECORDED = "unrecorded"
SOURCE_KINDS = ("hub", "catalog", "defaults", "built-in default", "derived", "constant", "sync health")


def _source(provenance: Mapping[str, str], key: str, value: Any = None) -> str:
    if key == "openrouter":
        return provenance.get("openrouter.slug", UNRECORDED)
    source = provenance.get(key, UNRECORDED)
    if key == "pricing" and source != UNRECORDED:
        # the prices the flat entry and the catalog view list beyond the base keys: tiers and windows
        tiered = isinstance(value, list) or (isinstance(value, Mapping) and "overrides" in value)
        if tiered and "pricing.overrides" in provenance:
            source += f"; tiers/windows: {provenance['pricing.overrides']}"
    return source


def _v2_source(provenance: Mapping[str, str], key: str, value: Any) -> str:
    return provenance.get(V2_PROVENANCE_PREFIX + key) or _source(provenance, key, value)


def _kind(source: str) -> str:
    for kind in SOURCE_KINDS:
        if source.startswith(kind):
            return kind
    return "derived" if source != UNRECORDED else UNRECORDED


def explain_entry(
    *,
    model_id: str,
    openrouter_entry: Mapping[str, Any] | None,
    catalog_entry: Mapping[str, Any],
    provenance: Mapping[str, str],
    openrouter_v2_entry: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per field of the views: ``view`` is ``both`` when the flat and catalog views list the same
    value; a 2.4 field whose value is not the flat field's is a row of view ``openrouter-v2``."""
    rows: dict[str, dict[str, Any]] = {}
    for key, value in (openrouter_entry or {}).items():
        source = _source(provenance, key, value)
        rows[f"openrouter:{key}"] = {
            "field": key,
            "view": "openrouter",
            "value": value,
            "source": source,
            "source_kind": _kind(source),
        }
    for key, value in catalog_entry.items():
        shared = rows.get(f"openrouter:{key}")
        if shared is not None and shared["value"] == value:
            shared["view"] = "both"
            continue
        source = _source(provenance, key, value)
        rows[f"catalog:{key}"] = {
            "field": key,
            "view": "catalog",
            "value": value,
            "source": source,
            "source_kind": _kind(source),
        }
    flat = openrouter_entry or {}
    for key, value in (openrouter_v2_entry or {}).items():
        if key in flat and flat[key] == value:
            continue  # the flat row explains it
        source = _v2_source(provenance, key, value)
        rows[f"openrouter-v2:{key}"] = {
            "field": key,
            "view": "openrouter-v2",
            "value": value,
            "source": source,
            "source_kind": _kind(source),
        }
    return list(rows.values())


def _published_v2_entry(settings: Settings, model_id: str) -> dict[str, Any] | None:
    """The model's entry of the live openrouter-v2.json (what OpenRouter reads), if it lists the model."""
    data = snap.read_current(settings.snapshot_dir, snap.OPENROUTER_V2)
    if data is None:
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    entries = document.get("data", []) if isinstance(document, dict) else []
    return next((e for e in entries if isinstance(e, dict) and e.get("id") == model_id), None)


def explain_model(*, settings: Settings, model_id: str) -> dict[str, Any]:
    with Store.open(settings.database_url, create=False) as store:
        store.check_schema()
        entry, facts = store.listing_entry(model_id)
    if entry is None:
        raise ConfigError(
            f"model {model_id!r} is not in the store: is it in the catalog, and has a sync run?"
        )
    provenance = dict(entry.provenance or {})
    v2_entry = _published_v2_entry(settings, model_id) if entry.openrouter_entry is not None else None
    return {
        "model_id": model_id,
        "in_openrouter_view": entry.openrouter_entry is not None,
        "in_openrouter_v2_view": v2_entry is not None,
        "status": entry.status,
        "repo": facts.repo_id if facts else None,
        "requested_repo": facts.requested_repo if facts else None,
        "revision": facts.revision if facts else None,
        "commit": facts.commit_sha if facts else None,
        "gated": facts.gated if facts else None,
        "stale_since": facts.stale_since.isoformat() if facts and facts.stale_since is not None else None,
        "last_error_kind": facts.last_error_kind if facts else None,
        "last_error": facts.last_error if facts else None,
        "hub_provenance": dict(facts.provenance or {}) if facts else {},
        "warnings": list(entry.warnings or []),
        "fields": explain_entry(
            model_id=model_id,
            openrouter_entry=entry.openrouter_entry,
            catalog_entry=entry.catalog_entry or {},
            provenance=provenance,
            openrouter_v2_entry=v2_entry,
        ),
    }
