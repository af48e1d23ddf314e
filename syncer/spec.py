"""The listing spec (``shared/spec/listing-format.md``) as data and one validator.

Everything a published OpenRouter snapshot may contain is listed here once; the catalog loader, the
snapshot builder and the publish step all check against these constants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

INPUT_MODALITIES = ("text", "image", "file", "audio", "video")
OUTPUT_MODALITIES = ("text", "image", "embeddings", "audio", "video", "rerank", "speech", "transcription")
QUANTIZATIONS = ("int4", "int8", "fp4", "mxfp4", "nvfp4", "fp6", "fp8", "mxfp8", "fp16", "bf16", "fp32")
SAMPLING_PARAMETERS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "top_a",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "stop",
    "seed",
    "max_tokens",
    "logit_bias",
)
FEATURES = ("tools", "json_mode", "structured_outputs", "logprobs", "web_search", "reasoning")
PRICING_KEYS = ("prompt", "completion", "image", "request", "input_cache_read")
REQUIRED_PRICING_KEYS = ("prompt", "completion")

ENTRY_KEYS = (
    "id",
    "hugging_face_id",
    "name",
    "created",
    "input_modalities",
    "output_modalities",
    "quantization",
    "context_length",
    "max_output_length",
    "pricing",
    "supported_sampling_parameters",
    "supported_features",
    "is_ready",
    "openrouter",
    "datacenters",
    "description",
    "deprecation_date",
)
REQUIRED_ENTRY_KEYS = (
    "id",
    "hugging_face_id",
    "name",
    "created",
    "input_modalities",
    "output_modalities",
    "context_length",
    "max_output_length",
    "pricing",
)

PRICE_RE = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")
HF_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$")
DEPRECATION_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T([01][0-9]|2[0-3]):00:00Z)?$")

# Exactness bounds of the store's price column (NUMERIC(38, 18)).
PRICE_MAX_FRACTION_DIGITS = 18
PRICE_MAX_INTEGER_DIGITS = 20

# ISO 3166-1 alpha-2: the 249 officially assigned codes.
ISO_COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
    FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
    IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
    PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
    YT ZA ZM ZW
    """.split()
)
assert len(ISO_COUNTRY_CODES) == 249


def parse_price(text: str) -> Decimal:
    """Parse a catalog price string exactly; raise ValueError with a reason otherwise."""
    if not PRICE_RE.match(text):
        raise ValueError(f'{text!r} is not a plain non-negative decimal such as "0.00000009"')
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise ValueError(f"{text!r} is not a decimal") from None
    integer, _, fraction = text.partition(".")
    if len(fraction.rstrip("0")) > PRICE_MAX_FRACTION_DIGITS:
        raise ValueError(f"{text!r} has more than {PRICE_MAX_FRACTION_DIGITS} decimal places")
    if len(integer) > PRICE_MAX_INTEGER_DIGITS:
        raise ValueError(f"{text!r} is too large")
    return value


def format_price(value: Decimal) -> str:
    """Canonical plain notation: no exponent, no trailing zeros (``0.000000090`` -> ``0.00000009``)."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_list(
    problems: list[str], where: str, value: object, allowed: Iterable[str] | None, *, nonempty: bool = False
) -> None:
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list")
        return
    if nonempty and not value:
        problems.append(f"{where}: must not be empty")
    allowed_set = set(allowed) if allowed is not None else None
    seen: set[str] = set()
    for item in value:
        key = repr(item)
        if key in seen:
            problems.append(f"{where}: duplicate {item!r}")
        seen.add(key)
        if allowed_set is not None and item not in allowed_set:
            problems.append(f"{where}: {item!r} is not allowed")


def validate_openrouter_entry(entry: Mapping[str, Any]) -> list[str]:
    """Every rule of the spec that one entry must obey; returns the problems (empty when valid)."""
    where = f"model {entry.get('id')!r}"
    problems: list[str] = []
    problems += [f"{where}: unknown key {k!r}" for k in entry if k not in ENTRY_KEYS]
    problems += [f"{where}: missing key {k!r}" for k in REQUIRED_ENTRY_KEYS if k not in entry]
    hf_id = entry.get("hugging_face_id")
    if not isinstance(hf_id, str) or (hf_id and not HF_ID_RE.match(hf_id)):
        problems.append(f"{where}: hugging_face_id {hf_id!r} is not org/name")
    if not isinstance(entry.get("name"), str) or not str(entry.get("name")).strip():
        problems.append(f"{where}: name must be a non-empty string")
    created = entry.get("created")
    if not _is_int(created) or not 1_000_000_000 <= created <= 9_999_999_999:  # type: ignore[operator]
        problems.append(f"{where}: created {created!r} is not whole Unix seconds")
    _check_list(
        problems, f"{where}.input_modalities", entry.get("input_modalities"), INPUT_MODALITIES, nonempty=True
    )
    _check_list(
        problems,
        f"{where}.output_modalities",
        entry.get("output_modalities"),
        OUTPUT_MODALITIES,
        nonempty=True,
    )
    if "quantization" in entry and entry["quantization"] not in QUANTIZATIONS:
        problems.append(f"{where}: quantization {entry['quantization']!r} is not allowed")
    lengths_ok = True
    for key in ("context_length", "max_output_length"):
        if not _is_int(entry.get(key)) or entry[key] <= 0:
            problems.append(f"{where}: {key} must be a positive integer")
            lengths_ok = False
    if lengths_ok and entry["max_output_length"] > entry["context_length"]:
        problems.append(f"{where}: max_output_length exceeds context_length")
    pricing = entry.get("pricing")
    if not isinstance(pricing, Mapping):
        problems.append(f"{where}: pricing must be an object")
    else:
        problems += [f"{where}: unknown pricing key {k!r}" for k in pricing if k not in PRICING_KEYS]
        problems += [f"{where}: missing pricing key {k!r}" for k in REQUIRED_PRICING_KEYS if k not in pricing]
        for key, price in pricing.items():
            if not isinstance(price, str) or not PRICE_RE.match(price):
                problems.append(f"{where}: pricing.{key} {price!r} is not a plain decimal string")
        prompt, cache = pricing.get("prompt"), pricing.get("input_cache_read")
        if (
            isinstance(prompt, str)
            and isinstance(cache, str)
            and PRICE_RE.match(prompt)
            and PRICE_RE.match(cache)
            and Decimal(cache) > Decimal(prompt)
        ):
            problems.append(f"{where}: pricing.input_cache_read is above pricing.prompt")
    if "supported_sampling_parameters" in entry:
        _check_list(
            problems,
            f"{where}.supported_sampling_parameters",
            entry["supported_sampling_parameters"],
            SAMPLING_PARAMETERS,
        )
    if "supported_features" in entry:
        _check_list(problems, f"{where}.supported_features", entry["supported_features"], FEATURES)
    if "is_ready" in entry and not isinstance(entry["is_ready"], bool):
        problems.append(f"{where}: is_ready must be a boolean")
    if "openrouter" in entry:
        openrouter = entry["openrouter"]
        if not isinstance(openrouter, Mapping) or set(openrouter) != {"slug"} or not openrouter["slug"]:
            problems.append(f'{where}: openrouter must be exactly {{"slug": "..."}}')
    if "datacenters" in entry:
        datacenters = entry["datacenters"]
        _check_list(problems, f"{where}.datacenters", datacenters, None)
        for dc in datacenters if isinstance(datacenters, list) else []:
            if not isinstance(dc, Mapping) or set(dc) != {"country_code"}:
                problems.append(f'{where}: datacenters entries must be {{"country_code": "XX"}}')
            elif dc["country_code"] not in ISO_COUNTRY_CODES:
                problems.append(f"{where}: {dc['country_code']!r} is not an ISO 3166-1 alpha-2 code")
    if "description" in entry and not isinstance(entry["description"], str):
        problems.append(f"{where}: description must be a string")
    if "deprecation_date" in entry and not (
        isinstance(entry["deprecation_date"], str) and DEPRECATION_DATE_RE.match(entry["deprecation_date"])
    ):
        problems.append(f"{where}: deprecation_date must be YYYY-MM-DD or YYYY-MM-DDTHH:00:00Z")
    return problems


def validate_openrouter_document(document: object) -> list[str]:
    """Rules of a whole OpenRouter snapshot: exactly ``{"data": [...]}``, unique ids, sorted by id."""
    if (
        not isinstance(document, Mapping)
        or set(document) != {"data"}
        or not isinstance(document["data"], list)
    ):
        return ['the document must be exactly {"data": [...]}']
    problems: list[str] = []
    ids: list[str] = []
    for entry in document["data"]:
        if not isinstance(entry, Mapping):
            problems.append("every entry must be an object")
            continue
        problems += validate_openrouter_entry(entry)
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            problems.append(f"model {entry.get('id')!r}: id must be a non-empty string")
        else:
            ids.append(entry["id"])
    if len(set(ids)) != len(ids):
        problems.append("ids are not unique")
    if ids != sorted(ids):
        problems.append("entries are not sorted by id")
    return problems


def validate_catalog_document(document: object) -> list[str]:
    """The OpenAI-compatible list shape of ``catalog.json``."""
    if (
        not isinstance(document, Mapping)
        or document.get("object") != "list"
        or not isinstance(document.get("data"), list)
    ):
        return ['the document must be {"object": "list", "data": [...]}']
    problems: list[str] = []
    ids: list[str] = []
    for entry in document["data"]:
        if not isinstance(entry, Mapping):
            problems.append("every entry must be an object")
            continue
        where = f"model {entry.get('id')!r}"
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            problems.append(f"{where}: id must be a non-empty string")
            continue
        ids.append(entry["id"])
        if entry.get("object") != "model":
            problems.append(f'{where}: object must be "model"')
        if not _is_int(entry.get("created")):
            problems.append(f"{where}: created must be whole Unix seconds")
        if not isinstance(entry.get("owned_by"), str) or not entry["owned_by"]:
            problems.append(f"{where}: owned_by must be a non-empty string")
    if len(set(ids)) != len(ids):
        problems.append("ids are not unique")
    if ids != sorted(ids):
        problems.append("entries are not sorted by id")
    return problems
