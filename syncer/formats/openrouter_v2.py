"""OpenRouter's typed provider document, schema 2.4 (``openrouter-v2.json``,
``GET /v1/models?format=openrouter&schema_version=2.4``); see shared/spec/openrouter-2.4.md.

Like :mod:`syncer.formats.openrouter`, the tables below are the format: :data:`ENTRY` both validates an
entry (:func:`validate_openrouter_v2_document`) and states itself as JSON Schema (:func:`entry_schema`,
with the recursive descriptor and predicate rules as :func:`component_schemas`). Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from syncer.formats.openrouter import PRICE, data_document_problems, free_has_no_tier
from syncer.formats.rules import (
    LISTED_WORD,
    Boolean,
    Field,
    Integer,
    Items,
    Map,
    Number,
    OneOf,
    Problems,
    Record,
    Rule,
    Text,
    entry_problems,
    is_int,
    is_number,
)
from syncer.formats.vocabulary import (
    DEPRECATION_DATE_PATTERN,
    HF_ID_OR_EMPTY_PATTERN,
    PRICE_RE,
    UNIX_SECONDS_MAX,
    UNIX_SECONDS_MIN,
    CountryCode,
    Quantization,
    ServiceTier,
    Weekday,
)

SCHEMA_VERSION = "2.4"
#: the guide: "any 2.x value is accepted" (its schema's pattern); the house writes :data:`SCHEMA_VERSION`
SCHEMA_VERSION_PATTERN = r"^2\.[0-9]+$"
REF = "#/components/schemas/"
DESCRIPTOR_REF = "OpenRouterV2Descriptor"
PREDICATE_REF = "OpenRouterV2Predicate"


class InputType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    FILE = "file"


class OutputType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    SPEECH = "speech"
    TRANSCRIPTION = "transcription"
    EMBEDDINGS = "embeddings"
    RERANK = "rerank"
    AUDIO = "audio"


class LimitUnit(StrEnum):
    TOKEN = "token"  # noqa: S105 - a unit, not a secret
    CHARACTER = "character"
    SECOND = "second"
    PIXEL = "pixel"
    BYTE = "byte"


class Per(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


#: pricing (and capacity) types and units of each scope
INPUT_PRICE_TYPES = ("prompt", "cached_prompt", "cache_write")
OUTPUT_PRICE_TYPES = ("completion", "internal_reasoning")
ROOT_PRICE_TYPES = ("request", "web_search")
INPUT_UNITS = ("token", "image", "megapixel", "second", "character")
OUTPUT_UNITS = (*INPUT_UNITS, "request")
ROOT_UNITS = {"request": "request", "web_search": "search"}
CACHE_TYPES = frozenset({"cached_prompt", "cache_write"})

#: closed domains of the enum descriptors of ``supported_inputs``
SOURCES = ("url", "base64")
FORMATS = {
    "image": ("image/png", "image/jpeg", "image/webp", "image/gif"),
    "video": ("video/mp4", "video/webm"),
    "audio": ("audio/wav", "audio/mpeg"),
    "file": ("application/pdf", "text/plain", "text/markdown", "text/html", "text/csv", "application/json"),
}
DETAIL_LEVELS = ("auto", "low", "high", "original")
ROLES = ("reference", "first_frame", "last_frame")

_POSITIVE = "{where}: {key} must be a positive integer"


def _fields(*fields: Field, **options: Any) -> Record:
    return Record(list(fields), unknown_message="{where}: unknown key {value!r} in {key}", **options)


# --- descriptors (recursive) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptor(Rule):
    """``{"type": range|integer|boolean|enum|array|object|unknown, ...}``; ``domain`` closes an enum's values
    (and its default) to a list, as ``supported_inputs`` does."""

    domain: tuple[str, ...] | None = None
    kinds: tuple[str, ...] = ("range", "integer", "boolean", "enum", "array", "object", "unknown")
    message: str = "{where}: {key} must be a descriptor object with a type"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, Mapping) or value.get("type") not in self.kinds:
            got = value.get("type") if isinstance(value, Mapping) else value
            problems.append(f"{where}: {key}.type {got!r} is not one of {', '.join(self.kinds)}")
            return
        kind = value["type"]
        allowed = {"type", "default", "unit"} | set(_DESCRIPTOR_KEYS[kind])
        for name in value:
            if name not in allowed:
                problems.append(f"{where}: unknown key {name!r} in {key} (a {kind} descriptor)")
        default = value.get("default")
        if kind in ("range", "integer"):
            number = is_int if kind == "integer" else is_number
            low, high = value.get("min"), value.get("max")
            for name, bound in (("min", low), ("max", high), ("default", default)):
                if bound is not None and not number(bound):
                    problems.append(
                        f"{where}: {key}.{name} must be {'an integer' if kind == 'integer' else 'a number'}"
                    )
            if number(low) and number(high) and low > high:  # type: ignore[operator]
                problems.append(f"{where}: {key}.min {low} is above {key}.max {high}")
            if number(default) and (
                (number(low) and default < low) or (number(high) and default > high)  # type: ignore[operator]
            ):
                problems.append(f"{where}: {key}.default {default} is outside min..max")
        elif kind == "boolean":
            if "default" in value and not isinstance(default, bool):
                problems.append(f"{where}: {key}.default must be a boolean")
        elif kind == "enum":
            values = value.get("values")
            if not isinstance(values, list) or not values:
                problems.append(f"{where}: {key}.values must be a non-empty list")
            else:
                if len({repr(v) for v in values}) != len(values):
                    problems.append(f"{where}: {key}.values has duplicates")
                for item in values:
                    if self.domain is not None and item not in self.domain:
                        problems.append(f"{where}: {key}.values {item!r} is not allowed")
                if "default" in value and default not in values:
                    problems.append(f"{where}: {key}.default {default!r} is not one of its values")
        elif kind == "array":
            if "items" in value:
                DESCRIPTOR.check(problems, where, f"{key}.items", value["items"])
            max_items = value.get("max_items")
            if max_items is not None and not (is_int(max_items) and max_items > 0):
                problems.append(f"{where}: {key}.max_items must be a positive integer")
        elif kind == "object" and "properties" in value:
            DESCRIPTORS.check(problems, where, f"{key}.properties", value["properties"])
        if "unit" in value and (
            kind not in ("range", "integer") or value["unit"] not in LimitUnit.__members__.values()
        ):
            problems.append(f"{where}: {key}.unit {value['unit']!r} is not allowed")

    def schema(self) -> dict[str, Any]:
        return {"$ref": REF + DESCRIPTOR_REF}


_DESCRIPTOR_KEYS: dict[str, tuple[str, ...]] = {
    "range": ("min", "max"),
    "integer": ("min", "max"),
    "boolean": (),
    "enum": ("values",),
    "array": ("items", "max_items"),
    "object": ("properties",),
    "unknown": (),
}
DESCRIPTOR = Descriptor()
DESCRIPTORS = Map(DESCRIPTOR, message="{where}: {key} must be an object of descriptors")


def _enum(domain: tuple[str, ...]) -> Descriptor:
    return Descriptor(domain=domain, kinds=("enum",))


_INTEGER_DESCRIPTOR = Descriptor(kinds=("integer",))
_LIMIT = _fields(
    Field("value", Integer(message=_POSITIVE, minimum=1), required=True),
    Field("unit", OneOf(LimitUnit)),
    message='{where}: {key} must be {{"value": positive integer, "unit"?: ...}}',
    missing_message="{where}: missing key {value!r} in {key}",
)


# --- predicates (recursive) ----------------------------------------------------------------------

_CONDITIONS = ("equals", "gte", "lte", "min_items")
_COMBINATORS = ("allOf", "anyOf", "not")


@dataclass(frozen=True)
class Predicate(Rule):
    """``{name: {equals|gte|lte|min_items: ...}, ...}`` (AND), or exactly one of allOf/anyOf/not."""

    message: str = "{where}: {key} must be a predicate object"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, Mapping) or not value:
            self.fail(problems, where, key, value)
            return
        combinators = [k for k in value if k in _COMBINATORS]
        if combinators:
            if len(value) != 1:
                problems.append(
                    f"{where}: {key} holds {combinators[0]!r} and other keys: exactly one of allOf/anyOf/not"
                )
                return
            name = combinators[0]
            inner = value[name]
            if name == "not":
                self.check(problems, where, f"{key}.not", inner)
            elif not isinstance(inner, list) or not inner:
                problems.append(f"{where}: {key}.{name} must be a non-empty list of predicates")
            else:
                for index, item in enumerate(inner):
                    self.check(problems, where, f"{key}.{name}[{index}]", item)
            return
        for name, condition in value.items():
            if (
                not isinstance(condition, Mapping)
                or len(condition) != 1
                or next(iter(condition)) not in _CONDITIONS
            ):
                problems.append(f"{where}: {key}.{name} must hold exactly one of {', '.join(_CONDITIONS)}")
                continue
            op, operand = next(iter(condition.items()))
            if op in ("gte", "lte") and not is_number(operand):
                problems.append(f"{where}: {key}.{name}.{op} must be a number")
            if op == "min_items" and not (is_int(operand) and operand >= 0):
                problems.append(f"{where}: {key}.{name}.min_items must be a non-negative integer")

    def schema(self) -> dict[str, Any]:
        return {"$ref": REF + PREDICATE_REF}


PREDICATE = Predicate()
_OVERRIDE = _fields(
    Field("when", PREDICATE, required=True),
    Field("cost_usd", PRICE, required=True),
    message='{where}: {key} entries must be {{"when": ..., "cost_usd": "..."}}',
)


# --- pricing and capacity entries ----------------------------------------------------------------


def _window_check(where: str, entry: Mapping[str, Any]) -> str | None:
    start, end = entry.get("utc_start"), entry.get("utc_end")
    if (start is None) != (end is None):
        return f"{where}: a pricing window needs both utc_start and utc_end"
    if start is not None and start == end:
        return f"{where}: utc_start and utc_end are both {start}"
    for value in (start, end):
        if is_int(value) and value % 100 > 59:
            return f"{where}: {value} is not a clock time HHMM"
    return None


def _identity_part(value: object) -> object:
    """A qualifier as identity: a day list is a set (``["friday", "monday"]`` is ``["monday", "friday"]``)."""
    return sorted(map(str, value)) if isinstance(value, list) else value


@dataclass(frozen=True)
class Entries(Rule):
    """A list of pricing or capacity entries of one scope, each identity at most once."""

    entry: Record
    identity: tuple[str, ...]
    item_checks: Sequence[Any] = ()
    message: str = "{where}.{key}: must be a list"

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, list):
            self.fail(problems, where, key, value)
            return
        seen: set[str] = set()
        for index, item in enumerate(value):
            at = f"{key}[{index}]"
            self.entry.check(problems, where, at, item)
            if not isinstance(item, Mapping):
                continue
            for cross in self.item_checks:
                message = cross(f"{where}: {at}", item)
                if message is not None:
                    problems.append(message)
            identity = repr([_identity_part(item.get(k)) for k in self.identity])
            if identity in seen:
                problems.append(
                    f"{where}: {at} repeats the identity of an earlier entry ({', '.join(self.identity)})"
                )
            seen.add(identity)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.entry.schema()}


def _root_unit(where: str, entry: Mapping[str, Any]) -> str | None:
    """At the root, ``request`` is per ``request`` and ``web_search`` per ``search`` (prices and capacity)."""
    kind = entry.get("type")
    if kind in ROOT_UNITS and entry.get("unit") != ROOT_UNITS[kind]:
        return f"{where}: {kind} is counted per {ROOT_UNITS[kind]}, not {entry.get('unit')!r}"
    return None


def _pricing(types: Sequence[str], units: Sequence[str], *, root: bool = False) -> Entries:
    fields = [
        Field(
            "type",
            OneOf(tuple(types), message="{where}: {key} {value!r} is not a price type of this scope"),
            required=True,
        ),
        Field(
            "unit",
            OneOf(tuple(units), message="{where}: {key} {value!r} is not a unit of this scope"),
            required=True,
        ),
        Field("cost_usd", PRICE, required=True, description="USD, a plain decimal string"),
        Field("overrides", Items(_OVERRIDE, message="{where}.{key}: must be a list")),
    ]
    checks = []
    if not root:
        fields += [
            Field("ttl_seconds", Integer(message=_POSITIVE, minimum=1)),
            Field("implicit", Boolean()),
            Field(
                "utc_start", Integer(message="{where}: {key} {value!r} is not HHMM", minimum=0, maximum=2359)
            ),
            Field(
                "utc_end", Integer(message="{where}: {key} {value!r} is not HHMM", minimum=0, maximum=2359)
            ),
            Field("utc_days", Items(OneOf(Weekday, message=LISTED_WORD), nonempty=True)),
        ]

        def _cache_qualifiers(where: str, entry: Mapping[str, Any]) -> str | None:
            if entry.get("type") not in CACHE_TYPES and ("ttl_seconds" in entry or "implicit" in entry):
                return f"{where}: ttl_seconds and implicit qualify cache entries only"
            return None

        checks = [_window_check, _cache_qualifiers]
    else:
        checks = [_root_unit]
    record = _fields(*fields, missing_message="{where}: missing key {value!r} in {key}")
    return Entries(record, ("type", "ttl_seconds", "implicit", "utc_start", "utc_end", "utc_days"), checks)


def _capacity(
    types: Sequence[str], units: Sequence[str], *, concurrency: bool, root: bool = False
) -> Entries:
    kinds = (*types, "concurrency") if concurrency else tuple(types)
    record = _fields(
        Field(
            "type",
            OneOf(kinds, message="{where}: {key} {value!r} is not a capacity type of this scope"),
            required=True,
        ),
        Field(
            "unit",
            OneOf(tuple(units), message="{where}: {key} {value!r} is not a unit of this scope"),
            required=True,
        ),
        Field("per", OneOf(Per)),
        Field("value", Integer(message=_POSITIVE, minimum=1), required=True),
        missing_message="{where}: missing key {value!r} in {key}",
    )

    def _per(where: str, entry: Mapping[str, Any]) -> str | None:
        if entry.get("type") == "concurrency":
            if "per" in entry:
                return f"{where}: concurrency has no per"
            unit = entry.get("unit")
            return None if unit == "request" else f"{where}: concurrency is counted in request, not {unit!r}"
        return None if "per" in entry else f"{where}: missing key 'per'"

    return Entries(record, ("type", "unit", "per"), [_per, *([_root_unit] if root else [])])


INPUT_PRICING = _pricing(INPUT_PRICE_TYPES, INPUT_UNITS)
OUTPUT_PRICING = _pricing(OUTPUT_PRICE_TYPES, OUTPUT_UNITS)
ROOT_PRICING = _pricing(ROOT_PRICE_TYPES, tuple(ROOT_UNITS.values()), root=True)
INPUT_CAPACITY = _capacity(INPUT_PRICE_TYPES, INPUT_UNITS, concurrency=False)
OUTPUT_CAPACITY = _capacity(OUTPUT_PRICE_TYPES, OUTPUT_UNITS, concurrency=True)
ROOT_CAPACITY = _capacity(ROOT_PRICE_TYPES, tuple(ROOT_UNITS.values()), concurrency=True, root=True)


# --- modality objects ----------------------------------------------------------------------------


def _media(kind: str) -> Record:
    fields = [Field("sources", _enum(SOURCES)), Field("formats", _enum(FORMATS[kind]))]
    if kind == "image":
        fields += [
            Field("detail_levels", _enum(DETAIL_LEVELS)),
            Field("references", _INTEGER_DESCRIPTOR),
            Field("role", _enum(ROLES)),
        ]
    if kind in ("video", "audio"):
        fields.append(Field("max_duration_seconds", _LIMIT))
    if kind == "file":
        fields.append(Field("references", _INTEGER_DESCRIPTOR))
    fields.append(Field("max_content_size_bytes", _LIMIT))
    return _fields(*fields)


SUPPORTED_INPUTS: dict[str, Record] = {
    "text": _fields(Field("max_context_length", _LIMIT), Field("max_prompt_length", _LIMIT)),
    **{kind: _media(kind) for kind in FORMATS},
}


def _input(kind: str) -> Record:
    return _fields(
        Field("type", OneOf((kind,)), required=True),
        Field("supported_inputs", SUPPORTED_INPUTS[kind]),
        Field("pricing", INPUT_PRICING),
        Field("capacity", INPUT_CAPACITY),
        Field("passthrough_parameters", DESCRIPTORS),
    )


def _output(kind: str) -> Record:
    fields = [
        Field("type", OneOf((kind,)), required=True),
        Field("supported_parameters", DESCRIPTORS, required=True),
    ]
    if kind not in ("embeddings", "rerank"):
        fields.append(Field("streaming", Boolean()))
    if kind == "text":
        fields.append(Field("max_length", _LIMIT))
    fields += [
        Field("pricing", OUTPUT_PRICING),
        Field("capacity", OUTPUT_CAPACITY),
        Field("passthrough_parameters", DESCRIPTORS),
    ]
    return _fields(*fields, missing_message="{where}: missing key {value!r} in {key}")


@dataclass(frozen=True)
class Modalities(Rule):
    """A non-empty list of modality objects, each ``type`` at most once, each checked by its type's record."""

    variants: Mapping[str, Record]
    message: str = "{where}.{key}: must be a non-empty list of modality objects"
    _order: tuple[str, ...] = field(init=False, default=())

    def check(self, problems: Problems, where: str, key: str, value: object) -> None:
        if not isinstance(value, list) or not value:
            self.fail(problems, where, key, value)
            return
        seen: set[str] = set()
        for index, item in enumerate(value):
            kind = item.get("type") if isinstance(item, Mapping) else None
            record = self.variants.get(kind) if isinstance(kind, str) else None
            if record is None:
                problems.append(f"{where}: {key}[{index}].type {kind!r} is not allowed")
                continue
            if kind in seen:
                problems.append(f"{where}: {key} has {kind!r} twice")
            seen.add(kind)  # type: ignore[arg-type]
            record.check(problems, where, f"{key}[{kind}]", item)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "minItems": 1,
            "items": {"oneOf": [r.schema() for r in self.variants.values()]},
        }


INPUTS = Modalities({kind.value: _input(kind.value) for kind in InputType})
OUTPUTS = Modalities({kind.value: _output(kind.value) for kind in OutputType})


#: qualifiers that make a pricing entry a distinct SKU beside its base entry
QUALIFIERS = ("ttl_seconds", "implicit", "utc_start", "utc_end", "utc_days")


def _costs(entry: Mapping[str, Any]) -> list[tuple[str, object, bool]]:
    """(path, cost_usd, qualified) of every price of an entry, overrides included; ``qualified``: the price is
    an entry with a qualifier (a distinct SKU such as an implicit cache write), not a base price."""
    found: list[tuple[str, object, bool]] = []

    def walk(prefix: str, prices: object) -> None:
        for index, price in enumerate(prices if isinstance(prices, list) else []):
            if isinstance(price, Mapping):
                qualified = any(q in price for q in QUALIFIERS)
                found.append((f"{prefix}[{index}].cost_usd", price.get("cost_usd"), qualified))
                for j, override in enumerate(price.get("overrides") or []):
                    if isinstance(override, Mapping):
                        path = f"{prefix}[{index}].overrides[{j}].cost_usd"
                        found.append((path, override.get("cost_usd"), False))

    walk("pricing", entry.get("pricing"))
    for scope in ("input_modalities", "output_modalities"):
        for modality in entry.get(scope) or []:
            if isinstance(modality, Mapping):
                walk(f"{scope}[{modality.get('type')}].pricing", modality.get("pricing"))
    return found


def _no_zero_stuffing(where: str, entry: Mapping[str, Any]) -> str | None:
    """A "0" price is a free SKU, never a placeholder: only an ``is_free`` model, or an entry made a distinct
    SKU by a qualifier (the guide's free implicit ``cache_write`` with a ``ttl_seconds``), may carry one."""
    if entry.get("is_free") is True:
        return None
    zeros = [
        p
        for p, cost, qualified in _costs(entry)
        if not qualified and isinstance(cost, str) and PRICE_RE.fullmatch(cost) and Decimal(cost) == 0
    ]
    if zeros:
        return f'{where}: {zeros[0]} is "0": leave an unbilled price out (zero-stuffing)'
    return None


def _discount(where: str, entry: Mapping[str, Any]) -> str | None:
    value = entry.get("discount_to_user")
    if is_number(value) and value >= 1:  # type: ignore[operator]
        return f"{where}: discount_to_user {value} must be below 1"
    return None


_DATACENTER = _fields(
    Field(
        "country_code",
        OneOf(CountryCode, message="{where}: {value!r} is not an ISO 3166-1 alpha-2 code"),
        required=True,
    ),
    Field("region", Text(message="{where}: {key} must be a non-empty string", min_length=1)),
    message="{where}: {key} entries must be objects",
    missing_message="{where}: missing key {value!r} in {key}",
)

ENTRY = Record(
    [
        Field(
            "schema_version",
            Text(
                message='{where}: schema_version {value!r} is not "2.x" (OpenRouter accepts any 2.x; we write "2.4")',
                pattern=SCHEMA_VERSION_PATTERN,
            ),
            required=True,
        ),
        Field("id", Text(message="{where}: id must be a non-empty string", min_length=1), required=True),
        Field(
            "name",
            Text(message="{where}: name must be a non-empty string", pattern=r"\S", min_length=1),
            required=True,
        ),
        Field(
            "hugging_face_id",
            Text(
                message="{where}: hugging_face_id {value!r} is not org/name", pattern=HF_ID_OR_EMPTY_PATTERN
            ),
            required=True,
        ),
        Field(
            "created",
            Integer(
                message="{where}: created {value!r} is not whole Unix seconds",
                minimum=UNIX_SECONDS_MIN,
                maximum=UNIX_SECONDS_MAX,
            ),
        ),
        Field(
            "quantization",
            OneOf(Quantization, message="{where}: quantization {value!r} is not allowed"),
            nullable=True,
        ),
        Field("tokenizer", Text(message="{where}: tokenizer must be a non-empty string", min_length=1)),
        Field("description", Text(message="{where}: description must be a string")),
        Field("input_modalities", INPUTS, required=True),
        Field("output_modalities", OUTPUTS, required=True),
        Field("pricing", ROOT_PRICING, description="request-scoped prices only: request, web_search"),
        Field("capacity", ROOT_CAPACITY),
        Field("passthrough_parameters", DESCRIPTORS),
        Field(
            "deprecation_date",
            Text(
                message="{where}: deprecation_date must be YYYY-MM-DD or YYYY-MM-DDTHH:00:00Z",
                pattern=DEPRECATION_DATE_PATTERN,
            ),
        ),
        Field("is_ready", Boolean(message="{where}: is_ready must be a boolean")),
        Field("is_free", Boolean(message="{where}: is_free must be a boolean")),
        Field(
            "service_tier",
            OneOf(
                ServiceTier,
                message="{where}: service_tier {value!r} is not one of flex, priority, fast, ultrafast",
            ),
            description="omit for the default tier",
        ),
        Field("discount_to_user", Number(message="{where}: discount_to_user must be a JSON number below 1")),
        Field(
            "openrouter",
            Record(
                [Field("slug", Text(min_length=1), required=True)],
                exact_message='{where}: openrouter must be exactly {{"slug": "..."}}',
            ),
        ),
        Field("datacenters", Items(_DATACENTER, unique_by=None)),
        Field(
            "deployment_region",
            Text(message="{where}: deployment_region must be a non-empty string", min_length=1),
            description="a label of the deployment's region or scope (US, global)",
        ),
        Field(
            "compliance",
            Map(
                Boolean(message="{where}: {key} must be a boolean"),
                message="{where}: compliance must be an object of booleans",
            ),
        ),
    ],
    unknown_message="{where}: unknown key {value!r}",
    missing_message="{where}: missing key {value!r}",
    checks=[_no_zero_stuffing, _discount, free_has_no_tier],
    description="one model of OpenRouter's 2.4 provider document (shared/spec/openrouter-2.4.md)",
)


def validate_openrouter_v2_entry(entry: Mapping[str, Any]) -> Problems:
    """Every rule one entry must obey; returns the problems (empty when valid)."""
    return entry_problems(ENTRY, entry)


def validate_openrouter_v2_document(document: object, *, entries: bool = True) -> Problems:
    """Rules of a whole 2.4 document: exactly ``{"data": [...]}``, every entry, unique ids, sorted by id. With ``entries`` False, the
    document's own rules only: its shape, unique ids, order (each entry was validated when it was made)."""
    return data_document_problems(document, ENTRY if entries else None)


def entry_schema() -> dict[str, Any]:
    return ENTRY.schema()


def component_schemas() -> dict[str, dict[str, Any]]:
    """The recursive rules, referenced by ``$ref`` from :func:`entry_schema`."""
    variants = []
    for kind, keys in _DESCRIPTOR_KEYS.items():
        properties: dict[str, Any] = {"type": {"type": "string", "enum": [kind]}, "default": {}}
        if kind in ("range", "integer"):
            number = {"type": "integer" if kind == "integer" else "number"}
            properties |= {"min": number, "max": number, "unit": {"type": "string", "enum": list(LimitUnit)}}
        for key in keys:
            if key == "values":
                properties[key] = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {}}
            elif key == "items":
                properties[key] = {"$ref": REF + DESCRIPTOR_REF}
            elif key == "max_items":
                properties[key] = {"type": "integer", "minimum": 1}
            elif key == "properties":
                properties[key] = {"type": "object", "additionalProperties": {"$ref": REF + DESCRIPTOR_REF}}
        variants.append(
            {"type": "object", "properties": properties, "required": ["type"], "additionalProperties": False}
        )
    condition = {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {
            "equals": {},
            "gte": {"type": "number"},
            "lte": {"type": "number"},
            "min_items": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    }
    predicate_list = {"type": "array", "minItems": 1, "items": {"$ref": REF + PREDICATE_REF}}
    return {
        DESCRIPTOR_REF: {"oneOf": variants},
        PREDICATE_REF: {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"allOf": predicate_list},
                    "required": ["allOf"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {"anyOf": predicate_list},
                    "required": ["anyOf"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {"not": {"$ref": REF + PREDICATE_REF}},
                    "required": ["not"],
                    "additionalProperties": False,
                },
                {"type": "object", "minProperties": 1, "additionalProperties": condition},
            ]
        },
    }


def document_schema(entry_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"data": {"type": "array", "items": {"$ref": entry_ref}}},
        "required": ["data"],
        "additionalProperties": False,
    }
