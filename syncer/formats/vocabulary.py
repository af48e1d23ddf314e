"""The words of the listing formats (``shared/spec/listing-format.md``), each written once.

Every document format (:mod:`syncer.formats.openrouter`, :mod:`syncer.formats.catalog_view`), the catalog's
pydantic types (:mod:`syncer.catalog`) and the OpenAPI schemas (:mod:`syncer.serve.openapi`) are built from
these enums and patterns; nothing else spells a modality, a quantization or a country code.
Standard library only.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class InputModality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    AUDIO = "audio"
    VIDEO = "video"


class OutputModality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    EMBEDDINGS = "embeddings"
    AUDIO = "audio"
    VIDEO = "video"
    RERANK = "rerank"
    SPEECH = "speech"
    TRANSCRIPTION = "transcription"


class Quantization(StrEnum):
    """The precision the house serves; there is no ``unknown`` (leave the field out)."""

    INT4 = "int4"
    INT8 = "int8"
    FP4 = "fp4"
    MXFP4 = "mxfp4"
    NVFP4 = "nvfp4"
    FP6 = "fp6"
    FP8 = "fp8"
    MXFP8 = "mxfp8"
    FP16 = "fp16"
    BF16 = "bf16"
    FP32 = "fp32"


class SamplingParameter(StrEnum):
    """Sampling controls (``tools``, ``response_format``, ``logprobs`` are not sampling parameters)."""

    TEMPERATURE = "temperature"
    TOP_P = "top_p"
    TOP_K = "top_k"
    MIN_P = "min_p"
    TOP_A = "top_a"
    FREQUENCY_PENALTY = "frequency_penalty"
    PRESENCE_PENALTY = "presence_penalty"
    REPETITION_PENALTY = "repetition_penalty"
    STOP = "stop"
    SEED = "seed"
    MAX_TOKENS = "max_tokens"
    LOGIT_BIAS = "logit_bias"


class ServiceTier(StrEnum):
    """OpenRouter's ``service_tier`` of a non-default entry (both formats; ``fast`` aliases ``priority``)."""

    FLEX = "flex"
    PRIORITY = "priority"
    FAST = "fast"
    ULTRAFAST = "ultrafast"


class Weekday(StrEnum):
    """``utc_days`` of a pricing window (both formats): UTC weekday names."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class Feature(StrEnum):
    TOOLS = "tools"
    JSON_MODE = "json_mode"
    STRUCTURED_OUTPUTS = "structured_outputs"
    LOGPROBS = "logprobs"
    WEB_SEARCH = "web_search"
    REASONING = "reasoning"


#: the catalog view's ``features`` lists the OpenRouter words, then these aliases of them (the names model
#: databases read: models.dev's sync looks for ``structured_output``, singular, and ``function_calling``)
CATALOG_FEATURE_ALIASES: dict[str, str] = {
    "tools": "function_calling",
    "structured_outputs": "structured_output",
}
#: every word the catalog view's ``features`` may hold
CATALOG_FEATURES: tuple[str, ...] = (*(str(f) for f in Feature), *CATALOG_FEATURE_ALIASES.values())

#: the key of a later long-context pricing tier in the catalog view: the tier applies to requests whose
#: prompt is longer than this many tokens
TIER_THRESHOLD_KEY = "above_prompt_tokens"


class PricingKey(StrEnum):
    """USD per token unless the key says otherwise; in this order in every document."""

    PROMPT = "prompt"
    COMPLETION = "completion"
    IMAGE = "image"
    REQUEST = "request"
    INPUT_CACHE_READ = "input_cache_read"


REQUIRED_PRICING_KEYS = (PricingKey.PROMPT, PricingKey.COMPLETION)

#: the unit of each price, as the catalog view lists it
PRICE_UNITS: dict[str, str] = {
    PricingKey.PROMPT: "USD per input token",
    PricingKey.COMPLETION: "USD per output token",
    PricingKey.IMAGE: "USD per input image",
    PricingKey.REQUEST: "USD per request",
    PricingKey.INPUT_CACHE_READ: "USD per cached input token",
    # the catalog's prices the flat OpenRouter format has no place for (its 2.4 document has them)
    "input_cache_write": "USD per token written to the prompt cache",
    "internal_reasoning": "USD per reasoning token billed apart from completion",
    "web_search": "USD per web search",
}


class Category(StrEnum):
    """The catalog view's kind of model."""

    TEXT = "text"
    EMBEDDING = "embedding"
    RERANK = "rerank"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


class ParameterType(StrEnum):
    """The JSON type of one request parameter of the catalog view."""

    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    STRING = "string"
    ARRAY = "array"
    OBJECT = "object"


class Status(StrEnum):
    """The catalog view's readiness of a model."""

    READY = "ready"
    STAGING = "staging"


class CountryCode(StrEnum):
    """ISO 3166-1 alpha-2: the 249 officially assigned codes."""

    AD = "AD"
    AE = "AE"
    AF = "AF"
    AG = "AG"
    AI = "AI"
    AL = "AL"
    AM = "AM"
    AO = "AO"
    AQ = "AQ"
    AR = "AR"
    AS = "AS"
    AT = "AT"
    AU = "AU"
    AW = "AW"
    AX = "AX"
    AZ = "AZ"
    BA = "BA"
    BB = "BB"
    BD = "BD"
    BE = "BE"
    BF = "BF"
    BG = "BG"
    BH = "BH"
    BI = "BI"
    BJ = "BJ"
    BL = "BL"
    BM = "BM"
    BN = "BN"
    BO = "BO"
    BQ = "BQ"
    BR = "BR"
    BS = "BS"
    BT = "BT"
    BV = "BV"
    BW = "BW"
    BY = "BY"
    BZ = "BZ"
    CA = "CA"
    CC = "CC"
    CD = "CD"
    CF = "CF"
    CG = "CG"
    CH = "CH"
    CI = "CI"
    CK = "CK"
    CL = "CL"
    CM = "CM"
    CN = "CN"
    CO = "CO"
    CR = "CR"
    CU = "CU"
    CV = "CV"
    CW = "CW"
    CX = "CX"
    CY = "CY"
    CZ = "CZ"
    DE = "DE"
    DJ = "DJ"
    DK = "DK"
    DM = "DM"
    DO = "DO"
    DZ = "DZ"
    EC = "EC"
    EE = "EE"
    EG = "EG"
    EH = "EH"
    ER = "ER"
    ES = "ES"
    ET = "ET"
    FI = "FI"
    FJ = "FJ"
    FK = "FK"
    FM = "FM"
    FO = "FO"
    FR = "FR"
    GA = "GA"
    GB = "GB"
    GD = "GD"
    GE = "GE"
    GF = "GF"
    GG = "GG"
    GH = "GH"
    GI = "GI"
    GL = "GL"
    GM = "GM"
    GN = "GN"
    GP = "GP"
    GQ = "GQ"
    GR = "GR"
    GS = "GS"
    GT = "GT"
    GU = "GU"
    GW = "GW"
    GY = "GY"
    HK = "HK"
    HM = "HM"
    HN = "HN"
    HR = "HR"
    HT = "HT"
    HU = "HU"
    ID = "ID"
    IE = "IE"
    IL = "IL"
    IM = "IM"
    IN = "IN"
    IO = "IO"
    IQ = "IQ"
    IR = "IR"
    IS = "IS"
    IT = "IT"
    JE = "JE"
    JM = "JM"
    JO = "JO"
    JP = "JP"
    KE = "KE"
    KG = "KG"
    KH = "KH"
    KI = "KI"
    KM = "KM"
    KN = "KN"
    KP = "KP"
    KR = "KR"
    KW = "KW"
    KY = "KY"
    KZ = "KZ"
    LA = "LA"
    LB = "LB"
    LC = "LC"
    LI = "LI"
    LK = "LK"
    LR = "LR"
    LS = "LS"
    LT = "LT"
    LU = "LU"
    LV = "LV"
    LY = "LY"
    MA = "MA"
    MC = "MC"
    MD = "MD"
    ME = "ME"
    MF = "MF"
    MG = "MG"
    MH = "MH"
    MK = "MK"
    ML = "ML"
    MM = "MM"
    MN = "MN"
    MO = "MO"
    MP = "MP"
    MQ = "MQ"
    MR = "MR"
    MS = "MS"
    MT = "MT"
    MU = "MU"
    MV = "MV"
    MW = "MW"
    MX = "MX"
    MY = "MY"
    MZ = "MZ"
    NA = "NA"
    NC = "NC"
    NE = "NE"
    NF = "NF"
    NG = "NG"
    NI = "NI"
    NL = "NL"
    NO = "NO"
    NP = "NP"
    NR = "NR"
    NU = "NU"
    NZ = "NZ"
    OM = "OM"
    PA = "PA"
    PE = "PE"
    PF = "PF"
    PG = "PG"
    PH = "PH"
    PK = "PK"
    PL = "PL"
    PM = "PM"
    PN = "PN"
    PR = "PR"
    PS = "PS"
    PT = "PT"
    PW = "PW"
    PY = "PY"
    QA = "QA"
    RE = "RE"
    RO = "RO"
    RS = "RS"
    RU = "RU"
    RW = "RW"
    SA = "SA"
    SB = "SB"
    SC = "SC"
    SD = "SD"
    SE = "SE"
    SG = "SG"
    SH = "SH"
    SI = "SI"
    SJ = "SJ"
    SK = "SK"
    SL = "SL"
    SM = "SM"
    SN = "SN"
    SO = "SO"
    SR = "SR"
    SS = "SS"
    ST = "ST"
    SV = "SV"
    SX = "SX"
    SY = "SY"
    SZ = "SZ"
    TC = "TC"
    TD = "TD"
    TF = "TF"
    TG = "TG"
    TH = "TH"
    TJ = "TJ"
    TK = "TK"
    TL = "TL"
    TM = "TM"
    TN = "TN"
    TO = "TO"
    TR = "TR"
    TT = "TT"
    TV = "TV"
    TW = "TW"
    TZ = "TZ"
    UA = "UA"
    UG = "UG"
    UM = "UM"
    US = "US"
    UY = "UY"
    UZ = "UZ"
    VA = "VA"
    VC = "VC"
    VE = "VE"
    VG = "VG"
    VI = "VI"
    VN = "VN"
    VU = "VU"
    WF = "WF"
    WS = "WS"
    YE = "YE"
    YT = "YT"
    ZA = "ZA"
    ZM = "ZM"
    ZW = "ZW"


ISO_COUNTRY_CODES = frozenset(CountryCode)

PRICE_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"
# The Hub's own rule (huggingface_hub's validate_repo_id): each part starts and ends with a letter, digit or
# '_', and never holds '..' or '--' (so "../.." is no repo). Anchored ^...$: Python users call fullmatch
# (``$`` alone lets a trailing newline through); JSON Schema's ECMA ``$`` is the end of the string.
_HF_PART = r"[A-Za-z0-9_]+((\.-?|-\.?)[A-Za-z0-9_]+)*"
_HF_ID = f"{_HF_PART}/{_HF_PART}"
HF_ID_PATTERN = f"^{_HF_ID}$"
#: ``""`` stands for a model not on the Hub
HF_ID_OR_EMPTY_PATTERN = f"^({_HF_ID})?$"
MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._:-]*$"
DEPRECATION_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T([01][0-9]|2[0-3]):00:00Z)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
PRICE_RE = re.compile(PRICE_PATTERN)
HF_ID_RE = re.compile(HF_ID_PATTERN)
MODEL_ID_RE = re.compile(MODEL_ID_PATTERN)
DEPRECATION_DATE_RE = re.compile(DEPRECATION_DATE_PATTERN)

#: whole Unix seconds, never milliseconds
UNIX_SECONDS_MIN = 1_000_000_000
UNIX_SECONDS_MAX = 9_999_999_999

# Exactness bounds of the store's price column (NUMERIC(38, 18)).
PRICE_MAX_FRACTION_DIGITS = 18
PRICE_MAX_INTEGER_DIGITS = 20


def parse_price(text: str) -> Decimal:
    """Parse a catalog price string exactly; raise ValueError with a reason otherwise."""
    if not PRICE_RE.fullmatch(text):
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
    return format(value.normalize(), "f")
