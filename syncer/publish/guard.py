"""The publish guard: what changed between two OpenRouter listings, and whether it looks like an accident.

Pure functions. A change is held (not published) when it removes more than a share of the listing, removes a
model the catalog still flags for OpenRouter, moves a price by more than 10x or to/from zero, or shrinks a
context window by more than half or grows it to more than double (a wrong config.json reads as either). The
flat listing and the catalog view are diffed field by field; the prices only OpenRouter's 2.4 document carries
(cache writes, reasoning tokens, web search, and any tier or window of them) are compared by their pricing
identity (:func:`v2_prices`). A human looks (``syncer snapshot diff``) and approves (``syncer sync now --approve``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from syncer.formats.vocabulary import TIER_THRESHOLD_KEY

PRICE_FACTOR_LIMIT = Decimal(10)
#: the 2.4 pricing types the flat listing has no place for (the flat diff already watches the others)
V2_ONLY_PRICE_TYPES = frozenset({"cache_write", "internal_reasoning", "web_search"})


@dataclass(frozen=True)
class FieldChange:
    model_id: str
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ListingDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[FieldChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entries(document: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not document:
        return {}
    return {str(e["id"]): e for e in document.get("data", []) if isinstance(e, Mapping) and "id" in e}


def _flatten(entry: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        name = f"{prefix}{key}"
        if name == "pricing" and isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
            # the catalog view's long-context tiers: the base tier keeps the names of an untiered model
            # (pricing.prompt), each tier is named by its threshold (pricing.above_prompt_tokens_200000.prompt)
            for tier in value:
                threshold = tier.get(TIER_THRESHOLD_KEY)
                where = "pricing." if threshold is None else f"pricing.{TIER_THRESHOLD_KEY}_{threshold}."
                flat |= _flatten({k: v for k, v in tier.items() if k != TIER_THRESHOLD_KEY}, where)
        elif isinstance(value, Mapping):
            flat |= _flatten(value, f"{name}.")
        elif (
            name.startswith("pricing.")
            and isinstance(value, list)
            and all(isinstance(v, Mapping) for v in value)
        ):
            for index, item in enumerate(value):  # pricing.overrides.0.prompt: tiers and windows are prices
                flat |= _flatten(item, f"{name}.{index}.")
        else:
            flat[name] = value
    return flat


def diff_listings(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> ListingDiff:
    """Models added, removed, and every changed field (nested keys dotted: ``pricing.prompt``)."""
    before, after = _entries(old), _entries(new)
    changed: list[FieldChange] = []
    for model_id in sorted(before.keys() & after.keys()):
        a, b = _flatten(before[model_id]), _flatten(after[model_id])
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                changed.append(FieldChange(model_id, key, a.get(key), b.get(key)))
    return ListingDiff(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        changed=changed,
    )


def _price(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        return None


def suspicious(
    diff: ListingDiff,
    *,
    old_count: int,
    still_flagged: Collection[str],
    max_removed_share: float,
) -> list[str]:
    """Reasons to hold this change; empty when it may be published."""
    reasons: list[str] = []
    if old_count and len(diff.removed) / old_count > max_removed_share:
        reasons.append(
            f"{len(diff.removed)} of {old_count} models would leave the listing "
            f"(more than {max_removed_share:.0%}): {', '.join(diff.removed[:10])}"
        )
    flagged = sorted(set(diff.removed) & set(still_flagged))
    if flagged:
        reasons.append(
            "models still in the catalog and flagged for OpenRouter would leave the listing "
            f"(OpenRouter hides them and does not unhide them): {', '.join(flagged)}"
        )
    for change in diff.changed:
        if change.field.startswith("pricing."):
            old, new = _price(change.old), _price(change.new)
            if old is None or new is None:
                continue
            if (old == 0) != (new == 0):
                reasons.append(
                    f"{change.model_id}: {change.field} moves from {change.old} to {change.new} (to/from zero)"
                )
            elif old and new and (new / old > PRICE_FACTOR_LIMIT or old / new > PRICE_FACTOR_LIMIT):
                reasons.append(
                    f"{change.model_id}: {change.field} moves from {change.old} to {change.new} (more than 10x)"
                )
        elif (
            change.field == "context_length"
            and isinstance(change.old, int)
            and isinstance(change.new, int)
            and (change.new * 2 < change.old or change.new > change.old * 2)
        ):
            how = "shrinks" if change.new < change.old else "grows"
            limit = "more than half" if change.new < change.old else "more than double"
            reasons.append(
                f"{change.model_id}: context_length {how} from {change.old} to {change.new} ({limit})"
            )
    return reasons


def _identity(where: str, item: Mapping[str, Any]) -> str:
    name = f"pricing.{where}.{item.get('type')}"
    if "utc_start" in item or "utc_end" in item:
        name += f".utc_{item.get('utc_start')}_{item.get('utc_end')}"
    return name


def v2_prices(entry: Mapping[str, Any], types: Collection[str] = V2_ONLY_PRICE_TYPES) -> dict[str, Any]:
    """The prices of one 2.4 entry whose type is in ``types``, by pricing identity: where the price sits
    (``input.text``, ``output.text``, ``root``), its type, its window if any, and each tier as
    ``prompt_tokens_gte_N``: ``pricing.input.text.cache_write``,
    ``pricing.input.text.cache_write.prompt_tokens_gte_200001``, ``pricing.root.web_search``. A base price the
    entry leaves out is unbilled (2.4 never zero-stuffs), so it is listed as ``"0"``; a tier left out keeps
    the base price and is not listed."""
    places: list[tuple[str, Any]] = [("root", entry.get("pricing"))]
    for direction in ("input", "output"):
        for modality in entry.get(f"{direction}_modalities") or ():
            if isinstance(modality, Mapping):
                places.append((f"{direction}.{modality.get('type')}", modality.get("pricing")))
    prices: dict[str, Any] = {}
    for where, items in places:
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, Mapping) or item.get("type") not in types:
                continue
            name = _identity(where, item)
            prices[name] = item.get("cost_usd")
            for override in item.get("overrides") or ():
                if not isinstance(override, Mapping):
                    continue
                gte = (override.get("when") or {}).get("prompt_tokens", {}).get("gte")
                prices[f"{name}.prompt_tokens_gte_{gte}"] = override.get("cost_usd")
    return prices


def _unbilled(prices: Mapping[str, Any]) -> set[str]:
    """The base identities (no tier) of ``prices``: absent on the other side means unbilled, "0"."""
    return {name for name in prices if ".prompt_tokens_gte_" not in name and ".utc_" not in name}


def diff_v2_prices(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> ListingDiff:
    """Every 2.4-only price that changed for the models in both documents (see :func:`v2_prices`)."""
    before, after = _entries(old), _entries(new)
    changed: list[FieldChange] = []
    for model_id in sorted(before.keys() & after.keys()):
        a, b = v2_prices(before[model_id]), v2_prices(after[model_id])
        base = _unbilled(a) | _unbilled(b)
        for key in sorted(a.keys() | b.keys()):
            absent = "0" if key in base else None
            if a.get(key, absent) != b.get(key, absent):
                changed.append(FieldChange(model_id, key, a.get(key, absent), b.get(key, absent)))
    return ListingDiff(changed=changed)
