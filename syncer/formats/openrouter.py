"""OpenRouter's flat provider listing (``openrouter.json``, ``GET /v1/models?format=openrouter``).

:data:`ENTRY` is the whole format of one entry: :func:`validate_openrouter_document` checks a snapshot with
it and :func:`entry_schema` is the same rules as the JSON Schema of the OpenAPI document.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from syncer.formats.rules import (
    LISTED_WORD,
    Boolean,
    Field,
    Integer,
    Items,
    Number,
    OneOf,
    Problems,
    Record,
    Rule,
    Text,
    entry_problems,
    is_int,
    is_number,
    listing_problems,
    model_where,
)
from syncer.formats.vocabulary import (
    DEPRECATION_DATE_PATTERN,
    HF_ID_OR_EMPTY_PATTERN,
    PRICE_PATTERN,
    PRICE_RE,
    REQUIRED_PRICING_KEYS,
    UNIX_SECONDS_MAX,
    UNIX_SECONDS_MIN,
    CountryCode,
    Feature,
    InputModality,
    OutputModality,
    PricingKey,
    Quantization,
    SamplingParameter,
    ServiceTier,
    Weekday,
)

PRICE = Text(
    message="{where}: {key} {value!r} is not a plain decimal string",
    pattern=PRICE_PATTERN,
    example="0.00000009",
)


def _lengths(where: str, entry: Mapping[str, Any]) -> str | None:
    context, output = entry.get("context_length"), entry.get("max_output_length")
    if is_int(context) and is_int(output) and 0 < context < output:
        return f"{where}: max_output_length exceeds context_length"
    return None


def _discount_below_one(where: str, entry: Mapping[str, Any]) -> str | None:
    value = entry.get("discount_to_user")
    if isinstance(value, int | float) and is_number(value) and value >= 1:
        return f"{where}: discount_to_user {value} must be below 1"
    return None


def free_has_no_tier(where: str, entry: Mapping[str, Any]) -> str | None:
    if entry.get("is_free") is True and "service_tier" in entry:
        return f"{where}: is_free true and service_tier {entry['service_tier']!r}: a free variant has no tier"
    return None


def _cache_not_above_prompt(where: str, pricing: Mapping[str, Any]) -> str | None:
    prompt, cache = pricing.get("prompt"), pricing.get("input_cache_read")
    if (
        isinstance(prompt, str)
        and isinstance(cache, str)
        and PRICE_RE.fullmatch(prompt)
        and PRICE_RE.fullmatch(cache)
        and Decimal(cache) > Decimal(prompt)
    ):
        return f"{where}: pricing.input_cache_read is above pricing.prompt"
    return None


_HHMM = Integer(message="{where}: {key} {value!r} is not HHMM (0..2359)", minimum=0, maximum=2359)
OVERRIDE = Record(
    [
        Field(
            "min_prompt_tokens", Integer(message="{where}: {key} must be a non-negative integer", minimum=0)
        ),
        Field("utc_start", _HHMM),
        Field("utc_end", _HHMM),
        Field("utc_days", Items(OneOf(Weekday, message=LISTED_WORD), nonempty=True)),
        *(Field(key, PRICE) for key in PricingKey),
    ],
    message="{where}: {key} entries must be objects",
    unknown_message="{where}: unknown key {value!r} in {key}",
    description="a long-context tier (min_prompt_tokens) or a UTC window (utc_start, utc_end, utc_days?), and"
    " the prices that change",
)


class Overrides(Rule):
    """``pricing.overrides``: at most 2 tiers with increasing thresholds, or at most 2 windows with the same
    prices and the same ``utc_days`` (start and end both given, real clock times, different); never both
    kinds. A window without start and end (``utc_days`` alone, a whole day) is not billable: refused."""

    message = "{where}: {key} must be a list"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, list):
            self.fail(problems, where, key, value)
            return
        if not value or len(value) > 2:
            problems.append(f"{where}: {key} holds {len(value)} overrides (1 or 2)")
        kinds: set[str] = set()
        thresholds: list[int] = []
        prices: set[str] = set()
        days: set[str] = set()
        for index, item in enumerate(value):
            at = f"{key}[{index}]"
            OVERRIDE.check(problems, where, at, item)
            if not isinstance(item, Mapping):
                continue
            changed = {k: item[k] for k in PricingKey if k in item}
            if not changed:
                problems.append(f"{where}: {at} changes no price")
            if "min_prompt_tokens" in item:
                kinds.add("tier")
                if is_int(item["min_prompt_tokens"]):
                    thresholds.append(item["min_prompt_tokens"])
            if "utc_start" in item or "utc_end" in item or "utc_days" in item:
                kinds.add("window")
                listed = item.get("utc_days")
                days.add(repr(sorted(listed) if isinstance(listed, list) else listed))
                start, end = item.get("utc_start"), item.get("utc_end")
                if start is None or end is None:
                    problems.append(f"{where}: {at} needs both utc_start and utc_end")
                elif start == end:
                    problems.append(f"{where}: {at}.utc_start and utc_end are both {start}")
                for clock in (start, end):
                    if is_int(clock) and clock % 100 > 59:
                        problems.append(f"{where}: {at}: {clock} is not a clock time (minutes 00..59)")
                prices.add(repr(sorted(changed.items())))
            if "min_prompt_tokens" not in item and "utc_start" not in item and "utc_end" not in item:
                problems.append(f"{where}: {at} needs min_prompt_tokens, or utc_start and utc_end")
        if len(kinds) > 1:
            problems.append(f"{where}: {key} mixes tiers and windows")
        if any(b <= a for a, b in itertools.pairwise(thresholds)):
            problems.append(f"{where}: {key} tiers do not increase: {thresholds}")
        if len(prices) > 1:
            problems.append(f"{where}: {key} windows have different prices")
        if len(days) > 1:
            problems.append(f"{where}: {key} windows have different utc_days")

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "maxItems": 2, "items": OVERRIDE.schema()}


PRICING = Record(
    [
        *(Field(key, PRICE, required=key in REQUIRED_PRICING_KEYS) for key in PricingKey),
        Field("overrides", Overrides()),
    ],
    message="{where}: pricing must be an object",
    unknown_message="{where}: unknown pricing key {value!r}",
    missing_message="{where}: missing pricing key {value!r}",
    checks=[_cache_not_above_prompt],
    description="USD as exact decimal strings; per token unless the key says otherwise",
)
_SLUG_MESSAGE = '{where}: openrouter must be exactly {{"slug": "..."}}'
_DATACENTER_MESSAGE = '{where}: datacenters entries must be {{"country_code": "XX"}}'
_POSITIVE = "{where}: {key} must be a positive integer"

ENTRY = Record(
    [
        Field(
            "id",
            Text(message="{where}: id must be a non-empty string", min_length=1),
            required=True,
            description="the model id callers pass to the API",
        ),
        Field(
            "hugging_face_id",
            Text(
                message="{where}: hugging_face_id {value!r} is not org/name", pattern=HF_ID_OR_EMPTY_PATTERN
            ),
            required=True,
            description="org/name on the Hub; empty only for a model not on the Hub",
        ),
        Field(
            "name",
            Text(message="{where}: name must be a non-empty string", pattern=r"\S", min_length=1),
            required=True,
        ),
        Field(
            "created",
            Integer(
                message="{where}: created {value!r} is not whole Unix seconds",
                minimum=UNIX_SECONDS_MIN,
                maximum=UNIX_SECONDS_MAX,
            ),
            required=True,
        ),
        Field(
            "input_modalities", Items(OneOf(InputModality, message=LISTED_WORD), nonempty=True), required=True
        ),
        Field(
            "output_modalities",
            Items(OneOf(OutputModality, message=LISTED_WORD), nonempty=True),
            required=True,
        ),
        Field("quantization", OneOf(Quantization, message="{where}: quantization {value!r} is not allowed")),
        Field("context_length", Integer(message=_POSITIVE, minimum=1), required=True),
        Field(
            "max_output_length",
            Integer(message=_POSITIVE, minimum=1),
            required=True,
            description="<= context_length",
        ),
        Field("pricing", PRICING, required=True),
        Field("supported_sampling_parameters", Items(OneOf(SamplingParameter, message=LISTED_WORD))),
        Field("supported_features", Items(OneOf(Feature, message=LISTED_WORD))),
        Field("is_ready", Boolean(message="{where}: is_ready must be a boolean")),
        Field(
            "openrouter",
            Record(
                [Field("slug", Text(message=_SLUG_MESSAGE, min_length=1), required=True)],
                message=_SLUG_MESSAGE,
                exact_message=_SLUG_MESSAGE,
            ),
        ),
        Field(
            "datacenters",
            Items(
                Record(
                    [
                        Field(
                            "country_code",
                            OneOf(
                                CountryCode, message="{where}: {value!r} is not an ISO 3166-1 alpha-2 code"
                            ),
                            required=True,
                        )
                    ],
                    message=_DATACENTER_MESSAGE,
                    exact_message=_DATACENTER_MESSAGE,
                )
            ),
        ),
        Field("description", Text(message="{where}: description must be a string")),
        Field(
            "deprecation_date",
            Text(
                message="{where}: deprecation_date must be YYYY-MM-DD or YYYY-MM-DDTHH:00:00Z",
                pattern=DEPRECATION_DATE_PATTERN,
            ),
        ),
        Field("is_free", Boolean(message="{where}: is_free must be a boolean")),
        Field(
            "discount_to_user",
            Number(message="{where}: discount_to_user must be a JSON number (not a string)"),
            description="below 1; negative is a markup",
        ),
        Field("capacity_tpm", Integer(message=_POSITIVE, minimum=1), nullable=True),
        Field(
            "service_tier",
            OneOf(
                ServiceTier,
                message="{where}: service_tier {value!r} is not one of flex, priority, fast, ultrafast",
            ),
            description="omit for the default tier",
        ),
    ],
    unknown_message="{where}: unknown key {value!r}",
    missing_message="{where}: missing key {value!r}",
    check_missing=True,
    checks=[_lengths, _discount_below_one, free_has_no_tier],
    description="one entry of OpenRouter's provider listing format (shared/spec/listing-format.md)",
)

DOCUMENT_MESSAGE = 'the document must be exactly {"data": [...]}'


def validate_openrouter_entry(entry: Mapping[str, Any]) -> Problems:
    """Every rule of the spec that one entry must obey; returns the problems (empty when valid)."""
    return entry_problems(ENTRY, entry)


def validate_openrouter_document(document: object, *, entries: bool = True) -> Problems:
    """Rules of a whole OpenRouter snapshot: exactly ``{"data": [...]}``, unique ids, sorted by id. With ``entries`` False, the
    document's own rules only: its shape, unique ids, order (each entry was validated when it was made)."""
    return data_document_problems(document, ENTRY if entries else None)


def data_document_problems(document: object, entry: Record | None) -> Problems:
    """A document that is exactly ``{"data": [...]}`` (both OpenRouter formats), every entry obeying ``entry``
    (None: not checked here), unique ids, sorted by id."""
    if (
        not isinstance(document, Mapping)
        or set(document) != {"data"}
        or not isinstance(document["data"], list)
    ):
        return [DOCUMENT_MESSAGE]
    return listing_problems(document["data"], entry, where=model_where)


def entry_schema() -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.0) of one entry."""
    return ENTRY.schema()


def document_schema(entry_ref: str) -> dict[str, Any]:
    """JSON Schema of the whole document, its entries given by ``entry_ref`` (a ``$ref`` target)."""
    return {
        "type": "object",
        "properties": {"data": {"type": "array", "items": {"$ref": entry_ref}}},
        "required": ["data"],
        "additionalProperties": False,
    }
