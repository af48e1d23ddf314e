"""``syncer explain ID``: every field of one model's listing entries, its value, and where it came from.

The sources are the provenance stored with each listing record at sync time: a catalog key, ``[defaults]``,
a built-in default, or a Hub file + key + commit (``hub: config.json rope_scaling yarn 4096 x 40 @ 1a2b3c4``).
Both views are explained: the OpenRouter entry (when the model is in that view) and the catalog view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncer.errors import ConfigError
from syncer.settings import Settings
from syncer.store import Store

UNRECORDED = "unrecorded"
SOURCE_KINDS = ("hub", "catalog", "defaults", "built-in default", "derived", "constant", "sync health")


def _source(provenance: Mapping[str, str], key: str) -> str:
    if key == "openrouter":
        return provenance.get("openrouter.slug", UNRECORDED)
    return provenance.get(key, UNRECORDED)


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
) -> list[dict[str, Any]]:
    """One row per field of both views: ``view`` is ``both`` when the two views list the same value."""
    rows: dict[str, dict[str, Any]] = {}
    for key, value in (openrouter_entry or {}).items():
        source = _source(provenance, key)
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
        source = _source(provenance, key)
        rows[f"catalog:{key}"] = {
            "field": key,
            "view": "catalog",
            "value": value,
            "source": source,
            "source_kind": _kind(source),
        }
    return list(rows.values())


def explain_model(*, settings: Settings, model_id: str) -> dict[str, Any]:
    with Store.open(settings.database_url, create=False) as store:
        store.check_schema()
        entry, facts = store.listing_entry(model_id)
    if entry is None:
        raise ConfigError(
            f"model {model_id!r} is not in the store: is it in the catalog, and has a sync run?"
        )
    provenance = dict(entry.provenance or {})
    return {
        "model_id": model_id,
        "in_openrouter_view": entry.openrouter_entry is not None,
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
        ),
    }
