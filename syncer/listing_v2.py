"""OpenRouter's 2.4 entry of one model, built from the flat entry's merged facts and the catalog: pure.

Both OpenRouter files come from one :func:`syncer.listing.merge_model` decision, so they cannot disagree:
this module only re-shapes the flat entry (context, limits, modalities, prices) and adds the facts the flat
format has no place for (cache writes, reasoning and web-search prices, regions, compliance, capacity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from syncer.formats import format_price
from syncer.formats.openrouter_v2 import SCHEMA_VERSION

if TYPE_CHECKING:
    from syncer.catalog import CatalogModel, PriceOverride

#: features the 2.4 document states as boolean parameters of the text output (web_search is a root price)
BOOLEAN_FEATURES = ("tools", "json_mode", "structured_outputs", "logprobs", "reasoning")
#: catalog-view parameters the boolean features stand for (left out of the 2.4 descriptors)
FEATURE_PARAMETERS = frozenset({"tools", "tool_choice", "response_format", "logprobs", "stream"})
POOLING_OUTPUTS = frozenset({"embeddings", "rerank"})


def country_codes(model: CatalogModel) -> list[str]:
    """Each serving country once, in catalog order (the flat format and the catalog view know no regions)."""
    return list(dict.fromkeys(d.country_code.value for d in model.datacenters))


def json_number(value: Decimal) -> int | float:
    """A decimal as the JSON number that prints it back (``0.2``, ``-0.1``, ``0``)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _price(value: Decimal | None) -> str | None:
    """A billed price as its string; an unbilled one (absent or zero) as None: no zero-stuffing."""
    return None if value is None or value == 0 else format_price(value)


def _descriptor(parameter: Mapping[str, Any]) -> dict[str, Any]:
    kind, options = parameter.get("type"), parameter.get("options")
    out: dict[str, Any]
    if options:
        out = {"type": "enum", "values": list(options)}
    elif kind == "number":
        out = {"type": "range", **{k: parameter[k] for k in ("min", "max") if k in parameter}}
    elif kind == "integer":
        out = {"type": "integer", **{k: parameter[k] for k in ("min", "max") if k in parameter}}
    elif kind in ("boolean", "array", "object"):
        out = {"type": kind}
    else:
        out = {"type": "unknown"}
    if "default" in parameter:
        out["default"] = parameter["default"]
    return out


def text_parameters(parameters: Sequence[Mapping[str, Any]], features: Sequence[str]) -> dict[str, Any]:
    """The text output's ``supported_parameters``: the house parameter table (after catalog overrides) as
    descriptors, and each supported feature as a boolean."""
    result = {str(p["name"]): _descriptor(p) for p in parameters if p["name"] not in FEATURE_PARAMETERS}
    for feature in BOOLEAN_FEATURES:
        if feature in features:
            result[feature] = {"type": "boolean"}
    return result


def _entry(
    kind: str, unit: str, base: Decimal | None, key: str, tiers: Sequence[PriceOverride]
) -> dict[str, Any] | None:
    cost = _price(base)
    if cost is None:
        return None
    entry: dict[str, Any] = {"type": kind, "unit": unit, "cost_usd": cost}
    overrides = [
        {"when": {"prompt_tokens": {"gte": (t.min_prompt_tokens or 0) + 1}}, "cost_usd": format_price(cost)}
        for t in tiers
        if (cost := getattr(t, key, None)) is not None
    ]
    if overrides:
        entry["overrides"] = overrides
    return entry


def _priced(
    specs: Sequence[tuple[str, str, Decimal | None, str]],
    tiers: Sequence[PriceOverride],
    windows: Sequence[PriceOverride],
) -> list[dict[str, Any]]:
    entries = []
    for kind, unit, base, key in specs:
        entry = _entry(kind, unit, base, key, tiers)
        if entry is None:
            continue
        entries.append(entry)
        for window in windows:
            cost = _price(getattr(window, key, None))
            if cost is not None:
                entries.append(
                    {
                        "type": kind,
                        "unit": unit,
                        "cost_usd": cost,
                        "utc_start": window.utc_start,
                        "utc_end": window.utc_end,
                    }
                )
    return entries


def openrouter_v2_entry_of(
    model: CatalogModel, flat: Mapping[str, Any], parameters: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The 2.4 entry of a model whose flat entry is ``flat`` (same facts, re-shaped)."""
    p = model.pricing
    overrides = list(p.overrides or ())
    tiers = [o for o in overrides if not o.is_window]
    windows = [o for o in overrides if o.is_window]
    capacity = model.capacity

    inputs: list[dict[str, Any]] = []
    for kind in flat["input_modalities"]:
        modality: dict[str, Any] = {"type": kind}
        if kind == "text":
            modality["supported_inputs"] = {
                "max_context_length": {"value": flat["context_length"], "unit": "token"}
            }
            prices = _priced(
                [
                    ("prompt", "token", p.prompt, "prompt"),
                    ("cached_prompt", "token", p.input_cache_read, "input_cache_read"),
                    ("cache_write", "token", p.input_cache_write, "input_cache_write"),
                ],
                tiers,
                windows,
            )
            if capacity is not None and capacity.prompt_tokens_per_minute is not None:
                modality["capacity"] = [
                    {
                        "type": "prompt",
                        "unit": "token",
                        "per": "minute",
                        "value": capacity.prompt_tokens_per_minute,
                    }
                ]
        elif kind == "image":
            prices = _priced([("prompt", "image", p.image, "image")], tiers, windows)
        else:
            prices = []
        if prices:
            modality["pricing"] = prices
        inputs.append(modality)

    outputs: list[dict[str, Any]] = []
    priced_output = next((k for k in flat["output_modalities"] if k == "text"), flat["output_modalities"][0])
    for kind in flat["output_modalities"]:
        out: dict[str, Any] = {"type": kind}
        if kind == "text":
            out["supported_parameters"] = text_parameters(parameters, flat["supported_features"])
            out["streaming"] = True
            out["max_length"] = {"value": flat["max_output_length"], "unit": "token"}
        else:
            out["supported_parameters"] = {}
        if kind == priced_output:
            prices = _priced(
                [
                    ("completion", "token", p.completion, "completion"),
                    ("internal_reasoning", "token", p.internal_reasoning, "internal_reasoning"),
                ],
                tiers,
                windows,
            )
            if prices:
                out["pricing"] = prices
            if kind == "text" and capacity is not None and capacity.completion_tokens_per_minute is not None:
                out["capacity"] = [
                    {
                        "type": "completion",
                        "unit": "token",
                        "per": "minute",
                        "value": capacity.completion_tokens_per_minute,
                    }
                ]
        outputs.append(out)

    entry: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": flat["id"],
        "name": flat["name"],
        "hugging_face_id": flat["hugging_face_id"],
        "created": flat["created"],
    }
    if "quantization" in flat:
        entry["quantization"] = flat["quantization"]
    if model.tokenizer:
        entry["tokenizer"] = model.tokenizer
    if "description" in flat:
        entry["description"] = flat["description"]
    entry["input_modalities"] = inputs
    entry["output_modalities"] = outputs
    root = _priced([("request", "request", p.request, "request")], tiers, [])
    if (web := _price(p.web_search)) is not None:
        root.append({"type": "web_search", "unit": "search", "cost_usd": web})
    if root:
        entry["pricing"] = root
    root_capacity = []
    if capacity is not None and capacity.requests_per_minute is not None:
        root_capacity.append(
            {"type": "request", "unit": "request", "per": "minute", "value": capacity.requests_per_minute}
        )
    if capacity is not None and capacity.concurrency is not None:
        root_capacity.append({"type": "concurrency", "unit": "request", "value": capacity.concurrency})
    if root_capacity:
        entry["capacity"] = root_capacity
    if "deprecation_date" in flat:
        entry["deprecation_date"] = flat["deprecation_date"]
    entry["is_ready"] = flat["is_ready"]
    if "is_free" in flat:
        entry["is_free"] = flat["is_free"]
    if "discount_to_user" in flat:
        entry["discount_to_user"] = flat["discount_to_user"]
    entry["openrouter"] = dict(flat["openrouter"])
    entry["datacenters"] = [
        {"country_code": d.country_code.value, **({"region": d.region} if d.region else {})}
        for d in model.datacenters
    ]
    if model.compliance:
        entry["compliance"] = dict(model.compliance)
    return entry


#: where a 2.4 entry's provenance lives: ``prov[V2_PROVENANCE_PREFIX + key]`` (else the flat key's)
V2_PROVENANCE_PREFIX = "openrouter-v2."
#: each 2.4 price type and the catalog price key it comes from
PRICE_KEYS = {
    ("prompt", "token"): "prompt",
    ("cached_prompt", "token"): "input_cache_read",
    ("cache_write", "token"): "input_cache_write",
    ("prompt", "image"): "image",
    ("completion", "token"): "completion",
    ("internal_reasoning", "token"): "internal_reasoning",
    ("request", "request"): "request",
    ("web_search", "search"): "web_search",
}


def _price_sources(prices: Sequence[Mapping[str, Any]], prov: Mapping[str, str]) -> list[str]:
    base = prov.get("pricing", "catalog: pricing")
    words: list[str] = []
    for item in prices:
        key = PRICE_KEYS.get((str(item.get("type")), str(item.get("unit"))), str(item.get("type")))
        where = prov.get(f"pricing.{key}", f"{base}.{key}")
        if "utc_start" in item:
            where = f"{prov.get('pricing.overrides', f'{base}.overrides')} (window)"
        word = f"{item.get('type')}/{item.get('unit')}: {where}"
        if item.get("overrides"):
            word += f", tiers: {prov.get('pricing.overrides', f'{base}.overrides')}"
        if word not in words:
            words.append(word)
    return words


def _capacity_sources(items: Sequence[Mapping[str, Any]], prov: Mapping[str, str]) -> list[str]:
    keys = {
        "prompt": "prompt_tokens_per_minute",
        "completion": "completion_tokens_per_minute",
        "request": "requests_per_minute",
        "concurrency": "concurrency",
    }
    base = prov.get("capacity", "catalog: capacity")
    return [f"capacity {c.get('type')}: {base}.{keys.get(str(c.get('type')), c.get('type'))}" for c in items]


def v2_provenance(entry: Mapping[str, Any], prov: Mapping[str, str]) -> dict[str, str]:
    """Where each field of a 2.4 entry came from, for the fields whose source is not the flat field of the
    same name: the typed modalities (their limits, prices, parameters and capacity), the root prices and
    capacity, the regions, the schema version. Keys are ``openrouter-v2.<field>``."""
    out: dict[str, str] = {"schema_version": f'constant: "{SCHEMA_VERSION}" (OpenRouter provider document)'}
    inputs = []
    for modality in entry.get("input_modalities", ()):
        words = [f"{modality['type']}: {prov.get('input_modalities', 'unrecorded')}"]
        if "supported_inputs" in modality:
            words.append(f"max_context_length: {prov.get('context_length', 'unrecorded')}")
        words += _price_sources(modality.get("pricing", ()), prov)
        words += _capacity_sources(modality.get("capacity", ()), prov)
        inputs.append("; ".join(words))
    out["input_modalities"] = " | ".join(inputs)
    outputs = []
    for modality in entry.get("output_modalities", ()):
        words = [f"{modality['type']}: {prov.get('output_modalities', 'unrecorded')}"]
        if "max_length" in modality:
            words.append(f"max_length: {prov.get('max_output_length', 'unrecorded')}")
        if modality.get("supported_parameters"):
            words.append(
                f"supported_parameters: {prov.get('supported_parameters', 'unrecorded')}"
                f"; features as booleans: {prov.get('supported_features', 'unrecorded')}"
            )
        if "streaming" in modality:
            words.append("streaming: constant: true (every text output streams)")
        words += _price_sources(modality.get("pricing", ()), prov)
        words += _capacity_sources(modality.get("capacity", ()), prov)
        outputs.append("; ".join(words))
    out["output_modalities"] = " | ".join(outputs)
    if "pricing" in entry:
        out["pricing"] = "; ".join(_price_sources(entry["pricing"], prov))
    if "capacity" in entry:
        out["capacity"] = "; ".join(_capacity_sources(entry["capacity"], prov))
    if any("region" in d for d in entry.get("datacenters", ())):
        out["datacenters"] = f"{prov.get('datacenters', 'unrecorded')} (country codes and regions)"
    return {V2_PROVENANCE_PREFIX + key: value for key, value in out.items()}
