"""The house catalog: a TOML file, validated as a whole before anything is written.

Every problem found is collected into one :class:`~syncer.errors.CatalogError` naming the file, the model
id and the field, so an operator fixes a broken catalog in one pass.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

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
from syncer.parameters import FEATURE_PARAMETER_SCHEMAS, SAMPLING_PARAMETER_SCHEMAS

KNOWN_PARAMETERS = (
    frozenset(SAMPLING_PARAMETER_SCHEMAS)
    | {name for params in FEATURE_PARAMETER_SCHEMAS.values() for name, _ in params}
    | {"stream"}
)


def _price(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"price must be a quoted decimal string, got the TOML {type(value).__name__} {value!r}: "
            "TOML numbers are binary floats and cannot hold prices such as 0.00000009 exactly"
        )
    return parse_price(value)


Price = Annotated[Decimal, BeforeValidator(_price)]


def _country(value: object) -> CountryCode:
    if not isinstance(value, str) or value not in ISO_COUNTRY_CODES:
        hint = (
            " (codes are upper case)" if isinstance(value, str) and value.upper() in ISO_COUNTRY_CODES else ""
        )
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code{hint}")
    return CountryCode(value)


Country = Annotated[CountryCode, BeforeValidator(_country)]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) == len(values):  # the common case, without counting (10,000 models x 5 lists)
        return values
    duplicates = [v for v, n in Counter(values).items() if n > 1]
    if duplicates:
        raise ValueError(f"duplicate values {duplicates}")
    return values


class Pricing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Price
    completion: Price
    image: Price | None = None
    request: Price | None = None
    input_cache_read: Price | None = None

    @model_validator(mode="after")
    def _cache_not_above_prompt(self) -> Pricing:
        if self.input_cache_read is not None and self.input_cache_read > self.prompt:
            raise ValueError("input_cache_read must not be above prompt")
        return self

    def as_dict(self) -> dict[str, Decimal]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


def _release_date(value: object) -> object:
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise ValueError("release_date must be a date, YYYY-MM-DD (a TOML date or a quoted string)")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else date.fromisoformat("invalid")
        except ValueError:
            raise ValueError(f"release_date {value!r} is not YYYY-MM-DD") from None
    return value


ReleaseDate = Annotated[date, BeforeValidator(_release_date)]


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
    deprecation_date: str | None = Field(None, pattern=DEPRECATION_DATE_PATTERN)
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
    datacenters: list[Country] = Field(min_length=1)
    # The catalog view (catalog.json, GET /v1/models) only:
    provider: str | None = Field(None, min_length=1)
    category: Category | None = None
    release_date: ReleaseDate | None = None
    supported_parameters: dict[str, ParameterOverride] = Field(default_factory=dict)

    @field_validator("supported_parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, ParameterOverride]) -> dict[str, ParameterOverride]:
        for name, override in value.items():
            if not MODEL_PARAMETER_NAME_RE.match(name):
                raise ValueError(f"{name!r} is not a parameter name (lower case letters, digits, '_')")
            if name not in KNOWN_PARAMETERS and override.enabled and override.type is None:
                raise ValueError(f"{name!r} is not a parameter the house knows: give its type")
        return value

    @field_validator("hugging_face_id")
    @classmethod
    def _hf_id(cls, value: str) -> str:
        if value and not HF_ID_RE.match(value):
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

    @field_validator("input_modalities", "output_modalities")
    @classmethod
    def _non_empty(cls, value: list[Any] | None) -> list[Any] | None:
        if value is not None and not value:
            raise ValueError("must not be empty when given")
        return value

    @model_validator(mode="after")
    def _lengths(self) -> CatalogModel:
        if self.context_length is not None and self.max_output_length > self.context_length:
            raise ValueError(
                f"max_output_length {self.max_output_length} is above context_length {self.context_length}"
            )
        max_tokens = self.supported_parameters.get("max_tokens")
        if max_tokens is not None and max_tokens.max is not None and max_tokens.max > self.max_output_length:
            raise ValueError(
                f"supported_parameters.max_tokens.max {max_tokens.max} is above max_output_length"
                f" {self.max_output_length}"
            )
        if not self.hugging_face_id and (
            self.created is None or self.input_modalities is None or not self.name
        ):
            raise ValueError(
                'a model not on the Hub (hugging_face_id = "") needs name, created, '
                "input_modalities and context_length"
            )
        return self


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
}


@dataclass(frozen=True)
class Catalog:
    path: Path
    models: tuple[CatalogModel, ...]
    #: per model id, the keys whose value came from [defaults] (for provenance)
    defaulted: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)

    def by_id(self) -> dict[str, CatalogModel]:
        return {m.id: m for m in self.models}


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith(("function-", "list["))))


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
        issues.append(
            CatalogIssue(
                path,
                model_id,
                field or None,
                message,
                _hint_for(field, message, CatalogModel.model_fields.keys() | set()),
            )
        )
    return issues


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
    seen_ids: Counter[str] = Counter()
    for index, raw in enumerate(raw_models):
        model_id = raw.get("id") if isinstance(raw, Mapping) else None
        label = model_id if isinstance(model_id, str) else f"#{index + 1} (no id)"
        if not isinstance(raw, Mapping):
            issues.append(CatalogIssue(where, label, None, "each [[models]] entry must be a table"))
            continue
        merged = {k: v for k, v in defaults.items() if k in DEFAULTABLE_KEYS} | dict(raw)
        try:
            models.append(CatalogModel.model_validate(merged))
            defaulted[models[-1].id] = frozenset(
                k for k in defaults if k in DEFAULTABLE_KEYS and k not in raw
            )
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
    slugs = Counter(m.openrouter.slug for m in models if m.openrouter)
    for model in models:
        if model.openrouter and slugs[model.openrouter.slug] > 1:
            issues.append(
                CatalogIssue(
                    where,
                    model.id,
                    "openrouter.slug",
                    f"slug {model.openrouter.slug!r} is used by more than one model",
                )
            )
    if issues:
        raise CatalogError(path, issues)
    return Catalog(path=path, models=tuple(sorted(models, key=lambda m: m.id)), defaulted=defaulted)


def load_catalog(path: Path) -> Catalog:
    """Read and validate the catalog file. Raises CatalogError (exit 2) with every problem found."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(
            path, [CatalogIssue(str(path), None, None, f"cannot read: {exc.strerror}")]
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(path, [CatalogIssue(str(path), None, None, f"not UTF-8: {exc.reason}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, [CatalogIssue(str(path), None, None, f"TOML syntax error: {exc}")]) from None
    return parse_catalog(data, path=path)
