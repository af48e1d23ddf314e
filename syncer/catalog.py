"""The house catalog: a TOML file, validated as a whole before anything is written.

Every problem found is collected into one :class:`~syncer.errors.CatalogError` naming the file, the model
id and the field, so an operator fixes a broken catalog in one pass.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import re
import tomllib
import typing
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import rtoml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from syncer.errors import CatalogError, CatalogIssue
from syncer.formats import (
    DATE_PATTERN,
    DEPRECATION_DATE_PATTERN,
    HF_ID_RE,
    ISO_COUNTRY_CODES,
    MODEL_ID_PATTERN,
    SLUG_PATTERN,
    UNIX_SECONDS_MAX,
    UNIX_SECONDS_MIN,
    Category,
    CountryCode,
    Feature,
    InputModality,
    OutputModality,
    ParameterType,
    Quantization,
    SamplingParameter,
    parse_price,
)
from syncer.parameters import (
    FEATURE_PARAMETER_SCHEMAS,
    REASONING_CONTROL_SCHEMAS,
    SAMPLING_PARAMETER_SCHEMAS,
)

KNOWN_PARAMETERS = (
    frozenset(SAMPLING_PARAMETER_SCHEMAS)
    | {name for params in FEATURE_PARAMETER_SCHEMAS.values() for name, _ in params}
    | set(REASONING_CONTROL_SCHEMAS)
    | {"stream"}
)


def _price(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"price must be a quoted decimal string, got the TOML {type(value).__name__} {value!r}: "
            "TOML numbers are binary floats and cannot hold prices such as 0.00000009 exactly"
        )
    parsed = _PRICES.get(value)
    if parsed is None:  # a catalog repeats few distinct prices: parse each once (errors are never cached)
        parsed = _PRICES[value] = parse_price(value)
    return parsed


_PRICES: dict[str, Decimal] = {}  # Decimal is immutable, so one parsed value serves every model
Price = Annotated[Decimal, BeforeValidator(_price)]


def _country(value: object) -> CountryCode:
    code = _COUNTRIES.get(value) if isinstance(value, str) else None
    if code is not None:  # the common case: one dict lookup instead of a set test and an enum call
        return code
    if not isinstance(value, str) or value not in ISO_COUNTRY_CODES:
        hint = (
            " (codes are upper case)" if isinstance(value, str) and value.upper() in ISO_COUNTRY_CODES else ""
        )
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code{hint}")
    return CountryCode(value)


_COUNTRIES: dict[str, CountryCode] = {c: CountryCode(c) for c in ISO_COUNTRY_CODES}
Country = Annotated[CountryCode, BeforeValidator(_country)]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) == len(values):  # the common case, without counting (10,000 models x 5 lists)
        return values
    duplicates = [v for v, n in Counter(values).items() if n > 1]
    if duplicates:
        raise ValueError(f"duplicate values {duplicates}")
    return values


def _clock(value: int) -> bool:
    return 0 <= value <= 2359 and value % 100 < 60


#: the price keys an override may change: the flat format's pricing keys (OpenRouter's flat overrides)
OVERRIDE_PRICE_KEYS = ("prompt", "completion", "image", "request", "input_cache_read")


class PriceOverride(BaseModel):
    """One ``[[models.pricing.overrides]]``: a long-context tier (``min_prompt_tokens``) or a UTC window
    (``utc_start``/``utc_end``, HHMM), and the prices that change (the others keep the base price)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_prompt_tokens: StrictInt | None = Field(None, gt=0)
    utc_start: StrictInt | None = None
    utc_end: StrictInt | None = None
    prompt: Price | None = None
    completion: Price | None = None
    image: Price | None = None
    request: Price | None = None
    input_cache_read: Price | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> PriceOverride:
        window = self.utc_start is not None or self.utc_end is not None
        if self.min_prompt_tokens is not None and window:
            raise ValueError(
                "an override is a tier (min_prompt_tokens) or a window (utc_start/utc_end), not both"
            )
        if self.min_prompt_tokens is None and not window:
            raise ValueError("an override needs min_prompt_tokens, or utc_start and utc_end")
        if window:
            if self.utc_start is None or self.utc_end is None:
                raise ValueError("a window needs both utc_start and utc_end (HHMM, UTC)")
            for name, clock in (("utc_start", self.utc_start), ("utc_end", self.utc_end)):
                if not _clock(clock):
                    raise ValueError(f"{name} {clock} is not a clock time HHMM (0..2359, minutes 00..59)")
            if self.utc_start == self.utc_end:
                raise ValueError(
                    f"utc_start and utc_end are both {self.utc_start}: a window must not be empty"
                )
            if self.request is not None:
                raise ValueError(
                    "a window cannot change request (the 2.4 document has no window at its root)"
                )
        if not self.prices():
            raise ValueError(f"an override must change at least one of {', '.join(OVERRIDE_PRICE_KEYS)}")
        return self

    @property
    def is_window(self) -> bool:
        return self.min_prompt_tokens is None

    def prices(self) -> dict[str, Decimal]:
        return {k: v for k in OVERRIDE_PRICE_KEYS if (v := getattr(self, k)) is not None}


class Pricing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Price
    completion: Price
    image: Price | None = None
    request: Price | None = None
    input_cache_read: Price | None = None
    # Not in the flat format (the 2.4 document and the catalog view only):
    input_cache_write: Price | None = None
    internal_reasoning: Price | None = None
    web_search: Price | None = None
    overrides: list[PriceOverride] | None = None

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, value: list[PriceOverride] | None) -> list[PriceOverride] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("overrides must not be empty when given (leave the key out)")
        if len(value) > 2:
            raise ValueError(f"at most 2 overrides, got {len(value)}")
        kinds = {o.is_window for o in value}
        if len(kinds) > 1:
            raise ValueError("overrides are all tiers (min_prompt_tokens) or all windows (utc_start/utc_end)")
        if not value[0].is_window:
            thresholds = [o.min_prompt_tokens or 0 for o in value]
            if any(b <= a for a, b in itertools.pairwise(thresholds)):
                raise ValueError(f"tiers must increase: min_prompt_tokens {thresholds}")
        elif len({tuple(sorted(o.prices().items())) for o in value}) > 1:
            raise ValueError("windows must all have the same prices (OpenRouter's flat format)")
        return value

    def as_dict(self) -> dict[str, Decimal]:
        """The base prices (every key but ``overrides``)."""
        return {k: v for k, v in self.model_dump(exclude={"overrides"}).items() if v is not None}


class Datacenter(BaseModel):
    """A serving region: a country code, or ``{country_code, region}`` (the provider's region id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country_code: Country
    region: str | None = Field(None, min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def _datacenter(value: object) -> object:
    # a bare code is checked here, so its problem is named datacenters.N as before regions existed; its
    # Datacenter is built once per code and shared (frozen; pydantic does not revalidate model instances)
    if not isinstance(value, str):
        return value
    datacenter = _BARE_DATACENTERS.get(value)
    if datacenter is None:
        datacenter = _BARE_DATACENTERS[value] = Datacenter(country_code=_country(value))
    return datacenter


_BARE_DATACENTERS: dict[str, Datacenter] = {}


DatacenterItem = Annotated[Datacenter, BeforeValidator(_datacenter)]


class Capacity(BaseModel):
    """What the house can serve of one model; every key optional, each a positive integer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens_per_minute: StrictInt | None = Field(None, gt=0)
    completion_tokens_per_minute: StrictInt | None = Field(None, gt=0)
    requests_per_minute: StrictInt | None = Field(None, gt=0)
    concurrency: StrictInt | None = Field(None, gt=0)


def _discount(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"discount_to_user must be a number or a decimal string, got {value!r}")
    if isinstance(value, str) and not re.fullmatch(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$", value):
        raise ValueError(f'discount_to_user {value!r} is not a plain decimal (e.g. "0.2")')
    number = Decimal(str(value))
    if not number.is_finite() or number >= 1:
        raise ValueError(f"discount_to_user {value!r} must be below 1 (1 would make it free; use is_free)")
    return number


Discount = Annotated[Decimal, BeforeValidator(_discount)]
COMPLIANCE_FLAG_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _release_date(value: object) -> object:
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise ValueError("release_date must be a date, YYYY-MM-DD (a TOML date or a quoted string)")
    if isinstance(value, str):
        if not re.fullmatch(DATE_PATTERN, value):
            raise ValueError(f"release_date {value!r} is not YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"release_date {value!r} is not a calendar date") from None
    return value


ReleaseDate = Annotated[date, BeforeValidator(_release_date)]


def _deprecation_date(value: object) -> str:
    """A calendar date (TOML date or ``"YYYY-MM-DD"``), or a whole UTC hour ``"YYYY-MM-DDTHH:00:00Z"``."""
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None or offset.total_seconds() != 0 or value.minute or value.second or value.microsecond:
            raise ValueError(
                f"deprecation_date {value.isoformat()!r} must be a date or a whole hour in UTC (...T10:00:00Z)"
            )
        return value.strftime("%Y-%m-%dT%H:00:00Z")
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not re.fullmatch(DEPRECATION_DATE_PATTERN, value):
        raise ValueError(
            f"deprecation_date {value!r} is not YYYY-MM-DD or YYYY-MM-DDTHH:00:00Z (a TOML date or a quoted string)"
        )
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"deprecation_date {value!r} is not a calendar date") from None
    return value


DeprecationDate = Annotated[str, BeforeValidator(_deprecation_date)]


class ParameterOverride(BaseModel):
    """The catalog's change to one request parameter of the catalog view (see syncer.parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ParameterType | None = None
    default: StrictBool | StrictInt | StrictFloat | StrictStr | None = None
    min: StrictInt | StrictFloat | None = None
    max: StrictInt | StrictFloat | None = None
    options: list[str] | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> ParameterOverride:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        number = (
            self.default
            if isinstance(self.default, int | float) and not isinstance(self.default, bool)
            else None
        )
        if number is not None and (
            (self.min is not None and number < self.min) or (self.max is not None and number > self.max)
        ):
            raise ValueError(f"default {number} is outside min..max")
        if self.options is not None:
            if not self.options:
                raise ValueError("options must not be empty when given")
            _unique(self.options)
            if self.default is not None and self.default not in self.options:
                raise ValueError(f"default {self.default!r} is not one of the options")
        return self


class OpenRouterListing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(min_length=1, pattern=SLUG_PATTERN)


class CatalogModel(BaseModel):
    """One model the house serves, after the catalog's ``[defaults]`` were applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=MODEL_ID_PATTERN)
    hugging_face_id: str
    revision: str | None = Field(None, min_length=1)
    name: str | None = Field(None, min_length=1)
    description: str | None = None
    deprecation_date: DeprecationDate | None = None
    quantization: Quantization | None = None
    max_output_length: int = Field(gt=0)
    context_length: int | None = Field(None, gt=0)
    allow_context_above_native: bool = False
    created: int | None = Field(None, ge=UNIX_SECONDS_MIN, le=UNIX_SECONDS_MAX)
    input_modalities: list[InputModality] | None = None
    output_modalities: list[OutputModality] | None = None
    supported_features: list[Feature] = Field(default_factory=list)
    supported_sampling_parameters: list[SamplingParameter] = Field(default_factory=list)
    is_ready: bool = True
    openrouter: OpenRouterListing | None = None
    pricing: Pricing
    datacenters: list[DatacenterItem] = Field(min_length=1)
    # OpenRouter's optional facts (issue 16): flat view and 2.4 document
    is_free: StrictBool = False
    discount_to_user: Discount | None = None
    tokenizer: str | None = Field(None, min_length=1)
    compliance: dict[str, StrictBool] | None = None
    capacity: Capacity | None = None
    # The catalog view (catalog.json, GET /v1/models) only:
    provider: str | None = Field(None, min_length=1)
    category: Category | None = None
    release_date: ReleaseDate | None = None
    supported_parameters: dict[str, ParameterOverride] = Field(default_factory=dict)

    @field_validator("supported_parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, ParameterOverride]) -> dict[str, ParameterOverride]:
        for name, override in value.items():
            if not MODEL_PARAMETER_NAME_RE.fullmatch(name):
                raise ValueError(f"{name!r} is not a parameter name (lower case letters, digits, '_')")
            if name not in KNOWN_PARAMETERS and override.enabled and override.type is None:
                raise ValueError(f"{name!r} is not a parameter the house knows: give its type")
        return value

    @field_validator("hugging_face_id")
    @classmethod
    def _hf_id(cls, value: str) -> str:
        if value and not HF_ID_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not org/name (letters, digits, '-', '_', '.')")
        return value

    @field_validator(
        "supported_features",
        "supported_sampling_parameters",
        "datacenters",
        "input_modalities",
        "output_modalities",
    )
    @classmethod
    def _no_duplicates(cls, value: list[Any] | None) -> list[Any] | None:
        return None if value is None else _unique(value)

    @field_validator("compliance")
    @classmethod
    def _compliance_flags(cls, value: dict[str, bool] | None) -> dict[str, bool] | None:
        for name in value or {}:
            if not COMPLIANCE_FLAG_RE.fullmatch(name):
                raise ValueError(f"{name!r} is not a compliance flag name (lower case letters, digits, '_')")
        return value

    @field_validator("input_modalities", "output_modalities")
    @classmethod
    def _non_empty(cls, value: list[Any] | None) -> list[Any] | None:
        if value is not None and not value:
            raise ValueError("must not be empty when given")
        return value


MODEL_PARAMETER_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# Keys [defaults] may set; identity keys are per model only.
DEFAULTABLE_KEYS = frozenset(CatalogModel.model_fields) - {
    "id",
    "hugging_face_id",
    "name",
    "openrouter",
    "revision",
    "created",
    "description",
    "release_date",
    "is_free",
    "discount_to_user",
}


@dataclass(frozen=True)
class Catalog:
    path: Path
    models: tuple[CatalogModel, ...]
    #: per model id, the keys whose value came from [defaults] (for provenance)
    defaulted: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    #: per model id, a sha256 of its entry as written (with the [defaults] it takes): equal digests, equal
    #: models (the merge key uses it, see syncer.merge.merge_key)
    digests: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def by_id(self) -> dict[str, CatalogModel]:
        return {m.id: m for m in self.models}


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith(("function-", "list["))))


def _table_keys(loc: tuple[int | str, ...]) -> frozenset[str]:
    """The keys of the table that holds the key at ``loc`` (``capacity.tokens``: Capacity's keys), so an
    unknown key is compared with its neighbours, not with the model's top-level keys."""
    table: type[BaseModel] = CatalogModel
    for part in loc[:-1]:
        if not isinstance(part, str) or part not in table.model_fields:
            continue  # a list index, or a pydantic union tag
        pending: list[Any] = [table.model_fields[part].annotation]
        nested: type[BaseModel] | None = None
        while pending:
            kind = pending.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                nested = kind
                break
            pending.extend(typing.get_args(kind))
        if nested is None:
            break
        table = nested
    return frozenset(table.model_fields)


def _hint_for(field: str, message: str, known: frozenset[str] | set[str]) -> str | None:
    if "Extra inputs are not permitted" in message:
        close = difflib.get_close_matches(field.rsplit(".", maxsplit=1)[-1], sorted(known), n=1)
        return f"did you mean {close[0]!r}?" if close else "remove it, or see the catalog reference in README"
    if "TOML numbers" in message:
        return f'write it in quotes, e.g. {field.rsplit(".", maxsplit=1)[-1]} = "0.00000009"'
    if "Input should be" in message and "'" in message:
        return None
    return None


def _issues_from_validation(path: str, model_id: str | None, exc: ValidationError) -> list[CatalogIssue]:
    issues = []
    for err in exc.errors():
        field = _field_name(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        if (
            err["type"] != "missing"
            and isinstance(value, str | int | float | date)
            and not (err["type"] == "value_error" and (repr(value) in message or str(value) in message))
        ):  # pydantic's own messages name the bound, not the value; ours usually name it already
            message += f", got {value!r}"  # every message echoes the bad value
        issues.append(
            CatalogIssue(
                path,
                model_id,
                field or None,
                message,
                _hint_for(field, message, _table_keys(err["loc"])),
            )
        )
    return issues


def _lenient_price(value: object) -> Decimal | None:
    try:
        return _price(value)
    except ValueError:
        return None  # reported by the field's own check


def _lenient_int(value: object) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


#: what a model not on the Hub must say itself: the Hub would have told us
OFF_HUB_REQUIRED = ("name", "created", "input_modalities", "context_length")


def _cross_field_problems(model: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """The rules between fields, on the raw entry: they hold even when another field of it is broken."""
    problems: list[tuple[str | None, str]] = []
    pricing = model.get("pricing")
    if isinstance(pricing, Mapping):
        prompt, cache = _lenient_price(pricing.get("prompt")), _lenient_price(pricing.get("input_cache_read"))
        if prompt is not None and cache is not None and cache > prompt:
            problems.append(
                (
                    "pricing.input_cache_read",
                    f"input_cache_read {pricing['input_cache_read']!r} is above prompt {pricing['prompt']!r}",
                )
            )
    output, context = _lenient_int(model.get("max_output_length")), _lenient_int(model.get("context_length"))
    if output is not None and context is not None and output > context:
        problems.append(
            ("max_output_length", f"max_output_length {output} is above context_length {context}")
        )
    parameters = model.get("supported_parameters")
    max_tokens = parameters.get("max_tokens") if isinstance(parameters, Mapping) else None
    cap = _lenient_int(max_tokens.get("max")) if isinstance(max_tokens, Mapping) else None
    if cap is not None and output is not None and cap > output:
        problems.append(
            (
                "supported_parameters.max_tokens.max",
                f"max_tokens.max {cap} is above max_output_length {output}",
            )
        )
    if model.get("hugging_face_id") == "":
        for key in OFF_HUB_REQUIRED:
            if model.get(key) in (None, "", []):
                problems.append((key, 'required for a model not on the Hub (hugging_face_id = "")'))
    return problems


def parse_catalog(data: Mapping[str, Any], *, path: Path) -> Catalog:
    """Validate parsed TOML; every problem becomes one :class:`CatalogIssue` of a single CatalogError."""
    where = str(path)
    issues: list[CatalogIssue] = []
    for key in data:
        if key not in ("defaults", "models"):
            issues.append(
                CatalogIssue(where, None, key, "unknown top-level table", "use [defaults] and [[models]]")
            )
    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping):
        issues.append(CatalogIssue(where, None, "defaults", "must be a table"))
        defaults = {}
    for key in defaults:
        if key not in DEFAULTABLE_KEYS:
            close = difflib.get_close_matches(key, sorted(DEFAULTABLE_KEYS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "set it per model"
            issues.append(CatalogIssue(where, None, f"defaults.{key}", "not allowed in [defaults]", hint))
    raw_models = data.get("models", [])
    if not isinstance(raw_models, list) or not raw_models:
        issues.append(
            CatalogIssue(where, None, "models", "the catalog has no [[models]]", "add at least one")
        )
        raw_models = []

    models: list[CatalogModel] = []
    defaulted: dict[str, frozenset[str]] = {}
    digests: dict[str, str] = {}
    seen_ids: Counter[str] = Counter()
    slug_users: dict[str, list[str]] = {}
    for index, raw in enumerate(raw_models):
        model_id = raw.get("id") if isinstance(raw, Mapping) else None
        label = model_id if isinstance(model_id, str) else f"#{index + 1} (no id)"
        if not isinstance(raw, Mapping):
            issues.append(CatalogIssue(where, label, None, "each [[models]] entry must be a table"))
            continue
        merged = {k: v for k, v in defaults.items() if k in DEFAULTABLE_KEYS} | dict(raw)
        issues += [CatalogIssue(where, label, f, m) for f, m in _cross_field_problems(merged)]
        slug = (
            merged.get("openrouter", {}).get("slug")
            if isinstance(merged.get("openrouter"), Mapping)
            else None
        )
        if isinstance(slug, str):
            slug_users.setdefault(slug, []).append(label)
        try:
            models.append(CatalogModel.model_validate(merged))
            defaulted[models[-1].id] = frozenset(
                k for k in defaults if k in DEFAULTABLE_KEYS and k not in raw
            )
            digests[models[-1].id] = _digest(merged)
        except ValidationError as exc:
            issues += _issues_from_validation(where, label, exc)
        if isinstance(model_id, str):
            seen_ids[model_id] += 1
    for model_id, count in seen_ids.items():
        if count > 1:
            issues.append(
                CatalogIssue(
                    where, model_id, "id", f"duplicate id: used by {count} models", "ids must be unique"
                )
            )
    for slug, users in slug_users.items():
        for label in users if len(users) > 1 else ():
            others = ", ".join(repr(u) for u in users if u != label) or repr(label)
            issues.append(
                CatalogIssue(where, label, "openrouter.slug", f"slug {slug!r} is also used by model {others}")
            )
    if issues:
        raise CatalogError(path, issues)
    return Catalog(
        path=path, models=tuple(sorted(models, key=lambda m: m.id)), defaulted=defaulted, digests=digests
    )


def _digest(entry: Mapping[str, Any]) -> str:
    # TOML values are strings, numbers, booleans, dates, lists and tables: str() serialises the dates.
    return hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()


def load_catalog(path: Path) -> Catalog:
    """Read and validate the catalog file. Raises CatalogError (exit 2) with every problem found."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(
            path, [CatalogIssue(str(path), None, None, f"cannot read: {exc.strerror}")]
        ) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise CatalogError(
            path,
            [
                CatalogIssue(
                    str(path),
                    None,
                    None,
                    "starts with a UTF-8 byte-order mark (BOM, bytes EF BB BF), which TOML does not allow",
                    "save the file as UTF-8 without BOM",
                )
            ],
        )
    try:
        data = parse_toml(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(path, [CatalogIssue(str(path), None, None, f"not UTF-8: {exc.reason}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, [CatalogIssue(str(path), None, None, f"TOML syntax error: {exc}")]) from None
    return parse_catalog(data, path=path)


def parse_toml(text: str) -> dict[str, Any]:
    """The TOML document as tomllib reads it, with tomllib's errors.

    rtoml (Rust, TOML 1.0 like tomllib) parses first, because tomllib is pure Python: 0.6 s of a 10,000-model
    catalog's load, rtoml about a tenth of that. tomllib stays the reference: a document rtoml refuses is
    parsed by tomllib again, which raises its error with the line and column (or, if the two disagree,
    returns its own reading). tests/test_catalog.py checks that both read every catalog of the repo alike.
    """
    try:
        data = rtoml.loads(text)
    except (rtoml.TomlParsingError, ValueError, TypeError):
        return tomllib.loads(text)
    return data if isinstance(data, dict) else tomllib.loads(text)
