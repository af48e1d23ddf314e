"""``syncer explain ID``: every listed value of one model and where it came from."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from syncer.db import HubFacts, ListingEntry
from syncer.errors import ConfigError
from syncer.settings import Settings
from syncer.store import check_schema, make_engine


def explain_model(*, settings: Settings, model_id: str) -> dict[str, Any]:
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine, create_if_empty=False)
        with Session(engine) as session:
            entry = session.get(ListingEntry, model_id)
            facts = session.get(HubFacts, model_id)
            if entry is None:
                raise ConfigError(
                    f"model {model_id!r} is not in the store: is it in the catalog, and has a sync run?"
                )
            listed = entry.openrouter_entry or {}
            values = listed or entry.catalog_entry
            fields = []
            for key, value in values.items():
                source = entry.provenance.get(key) or entry.provenance.get(key.split(".")[0]) or "catalog"
                if key == "openrouter":
                    source = entry.provenance.get("openrouter.slug", source)
                fields.append({"field": key, "value": value, "source": source})
            return {
                "model_id": model_id,
                "in_openrouter_view": bool(listed),
                "status": entry.status,
                "commit": facts.commit_sha if facts else None,
                "repo": facts.repo_id if facts else None,
                "last_error": facts.last_error if facts else None,
                "warnings": list(entry.warnings),
                "fields": fields,
            }
    finally:
        engine.dispose()


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(_short(v) for v in value)
    return str(value)


def format_explanation(explanation: dict[str, Any]) -> str:
    from syncer.report import table

    head = f"{explanation['model_id']}  status: {explanation['status']}"
    if explanation["repo"]:
        head += f"  repo: {explanation['repo']} @ {(explanation['commit'] or '?')[:7]}"
    if not explanation["in_openrouter_view"]:
        head += "  (not in the OpenRouter view; showing the catalog view)"
    rows = [(f["field"], _short(f["value"]), f["source"]) for f in explanation["fields"]]
    text = head + "\n" + table(("field", "value", "source"), rows)
    if explanation["warnings"]:
        text += "\nwarnings:\n" + "\n".join(f"  - {w}" for w in explanation["warnings"])
    if explanation["last_error"]:
        text += f"\nlast Hub error: {explanation['last_error']}"
    return text
