"""Deriving listing facts from a checkpoint's files: pure functions, no I/O.

Each function takes parsed Hub files and returns the value together with a short provenance string
(``config.json text_config.max_position_embeddings=262144``), so ``syncer explain`` can say where every
listed value came from. The context-length rules follow vLLM's, the engine most providers serve with:

* the text config is the top level for ``Llava*ForCausalLM``, else the first of ``text_config``,
  ``llm_config``, ``language_config``, ``thinker_config.text_config`` (or ``thinker_config``),
  ``decoder``, ``generator``, else the top level;
* the smallest of the length keys present wins; null, non-integers, values <= 0 and "no limit" sentinels
  (``int(1e30)``) are ignored; ``model_max_length`` in the model config overrides the minimum;
* rope scaling: ``llama3``/``longrope`` (``su``) never multiply, ``default`` (``mrope``) has no factor,
  ``yarn`` is ``original_max_position_embeddings x factor``, any other type multiplies by ``factor``;
  per-layer-type dicts are read per entry; Gemma 3 skips rope scaling;
* ``sliding_window`` and friends never shrink the window; tokenizer_config.json's ``model_max_length`` is
  read only for a pooling model (embedding, rerank) whose config.json says ``position_embedding_type``
  ``"absolute"``, and then the smaller of it and the config's length wins; any other model's tokenizer length
  is ignored (vLLM: ``ModelConfig.get_and_verify_max_len``);
* a length key absent from the text config takes the default of its transformers configuration class
  (``CONFIG_CLASS_DEFAULTS``); when nothing declares a length (absent or null keys, no class default, no
  tokenizer length vLLM reads), vLLM assumes 2048 (``VLLM_DEFAULT_MAX_LEN``) and so do we, with a warning;
  a length key holding a broken value (string, <= 0, sentinel) is still refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeGuard

from syncer.errors import DerivationError

__all__ = ["DerivationError", "DerivedFacts", "HubFiles", "Sourced", "derive_facts"]

LENGTH_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_target_positions",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)
TEXT_CONFIG_KEYS = ("text_config", "llm_config", "language_config", "thinker_config", "decoder", "generator")
# Tokenizers write int(1e30) for "no limit"; no real context window comes near a billion tokens.
MAX_PLAUSIBLE_LENGTH = 1_000_000_000


class ClassDefault(NamedTuple):
    """What a transformers configuration class fills in for a length key config.json leaves out."""

    key: str
    value: int
    cls: str
    #: file and line of the default in transformers' source tree, under src/transformers/models/
    source: str


#: the transformers release the defaults below were read from (its wheel, built from the tag of that name)
TRANSFORMERS_SOURCE = "transformers v5.24.0"
# What a config class of transformers fills in when config.json leaves the length out (vLLM instantiates the
# class of the config's model_type and reads the object, defaults included): model_type -> its default, with
# the line of src/transformers/models/<dir>/configuration_<dir>.py it is read from (TRANSFORMERS_SOURCE).
# Gemma 3's text_config has no length key. Not here: classes with no length attribute at all (bloom, ALiBi:
# vLLM assumes VLLM_DEFAULT_MAX_LEN) and remote-code types transformers does not ship (internlm2, baichuan:
# their class lives in the repo, so an absent key there also gets the assumed default).
CONFIG_CLASS_DEFAULTS: dict[str, ClassDefault] = {
    "llama": ClassDefault("max_position_embeddings", 2_048, "LlamaConfig", "llama/configuration_llama.py:70"),
    "mistral": ClassDefault(
        "max_position_embeddings", 131_072, "MistralConfig", "mistral/configuration_mistral.py:70"
    ),
    "mixtral": ClassDefault(
        "max_position_embeddings", 131_072, "MixtralConfig", "mixtral/configuration_mixtral.py:74"
    ),
    "qwen2": ClassDefault(
        "max_position_embeddings", 32_768, "Qwen2Config", "qwen2/configuration_qwen2.py:67"
    ),
    "qwen2_moe": ClassDefault(
        "max_position_embeddings", 32_768, "Qwen2MoeConfig", "qwen2_moe/configuration_qwen2_moe.py:85"
    ),
    "qwen3": ClassDefault(
        "max_position_embeddings", 32_768, "Qwen3Config", "qwen3/configuration_qwen3.py:69"
    ),
    "qwen3_moe": ClassDefault(
        "max_position_embeddings", 32_768, "Qwen3MoeConfig", "qwen3_moe/configuration_qwen3_moe.py:87"
    ),
    "qwen3_next": ClassDefault(
        "max_position_embeddings", 32_768, "Qwen3NextConfig", "qwen3_next/configuration_qwen3_next.py:98"
    ),
    "gemma": ClassDefault("max_position_embeddings", 8_192, "GemmaConfig", "gemma/configuration_gemma.py:74"),
    "gemma2": ClassDefault(
        "max_position_embeddings", 8_192, "Gemma2Config", "gemma2/configuration_gemma2.py:75"
    ),
    "gemma3_text": ClassDefault(
        "max_position_embeddings", 131_072, "Gemma3TextConfig", "gemma3/configuration_gemma3.py:81"
    ),
    "phi": ClassDefault("max_position_embeddings", 2_048, "PhiConfig", "phi/configuration_phi.py:72"),
    "phi3": ClassDefault("max_position_embeddings", 4_096, "Phi3Config", "phi3/configuration_phi3.py:70"),
    "phimoe": ClassDefault(
        "max_position_embeddings", 131_072, "PhimoeConfig", "phimoe/configuration_phimoe.py:68"
    ),
    "deepseek_v2": ClassDefault(
        "max_position_embeddings", 2_048, "DeepseekV2Config", "deepseek_v2/configuration_deepseek_v2.py:82"
    ),
    "deepseek_v3": ClassDefault(
        "max_position_embeddings", 4_096, "DeepseekV3Config", "deepseek_v3/configuration_deepseek_v3.py:103"
    ),
    "cohere": ClassDefault(
        "max_position_embeddings", 8_192, "CohereConfig", "cohere/configuration_cohere.py:74"
    ),
    "cohere2": ClassDefault(
        "max_position_embeddings", 8_192, "Cohere2Config", "cohere2/configuration_cohere2.py:73"
    ),
    "starcoder2": ClassDefault(
        "max_position_embeddings", 4_096, "Starcoder2Config", "starcoder2/configuration_starcoder2.py:67"
    ),
    "falcon": ClassDefault(
        "max_position_embeddings", 2_048, "FalconConfig", "falcon/configuration_falcon.py:81"
    ),
    "gpt_neox": ClassDefault(
        "max_position_embeddings", 2_048, "GPTNeoXConfig", "gpt_neox/configuration_gpt_neox.py:70"
    ),
    "olmo": ClassDefault("max_position_embeddings", 2_048, "OlmoConfig", "olmo/configuration_olmo.py:73"),
    "olmo2": ClassDefault("max_position_embeddings", 2_048, "Olmo2Config", "olmo2/configuration_olmo2.py:76"),
    "olmo3": ClassDefault("max_position_embeddings", 2_048, "Olmo3Config", "olmo3/configuration_olmo3.py:71"),
    "granite": ClassDefault(
        "max_position_embeddings", 2_048, "GraniteConfig", "granite/configuration_granite.py:70"
    ),
    "granitemoe": ClassDefault(
        "max_position_embeddings", 2_048, "GraniteMoeConfig", "granitemoe/configuration_granitemoe.py:65"
    ),
    "glm": ClassDefault("max_position_embeddings", 131_072, "GlmConfig", "glm/configuration_glm.py:64"),
    "glm4": ClassDefault("max_position_embeddings", 131_072, "Glm4Config", "glm4/configuration_glm4.py:64"),
    "glm4_moe": ClassDefault(
        "max_position_embeddings", 131_072, "Glm4MoeConfig", "glm4_moe/configuration_glm4_moe.py:97"
    ),
    "exaone4": ClassDefault(
        "max_position_embeddings", 2_048, "Exaone4Config", "exaone4/configuration_exaone4.py:85"
    ),
    "ernie4_5": ClassDefault(
        "max_position_embeddings", 131_072, "Ernie4_5Config", "ernie4_5/configuration_ernie4_5.py:70"
    ),
    "ernie4_5_moe": ClassDefault(
        "max_position_embeddings",
        131_072,
        "Ernie4_5_MoeConfig",
        "ernie4_5_moe/configuration_ernie4_5_moe.py:100",
    ),
    "minimax": ClassDefault(
        "max_position_embeddings", 131_072, "MiniMaxConfig", "minimax/configuration_minimax.py:93"
    ),
    "gpt_oss": ClassDefault(
        "max_position_embeddings", 131_072, "GptOssConfig", "gpt_oss/configuration_gpt_oss.py:63"
    ),
    "smollm3": ClassDefault(
        "max_position_embeddings", 32_768, "SmolLM3Config", "smollm3/configuration_smollm3.py:78"
    ),
    "seed_oss": ClassDefault(
        "max_position_embeddings", 524_288, "SeedOssConfig", "seed_oss/configuration_seed_oss.py:68"
    ),
    "nemotron": ClassDefault(
        "max_position_embeddings", 4_096, "NemotronConfig", "nemotron/configuration_nemotron.py:61"
    ),
    "stablelm": ClassDefault(
        "max_position_embeddings", 4_096, "StableLmConfig", "stablelm/configuration_stablelm.py:51"
    ),
    "gpt2": ClassDefault("n_positions", 1_024, "GPT2Config", "gpt2/configuration_gpt2.py:78"),
    "gptj": ClassDefault("n_positions", 2_048, "GPTJConfig", "gptj/configuration_gptj.py:68"),
    "mpt": ClassDefault("max_seq_len", 2_048, "MptConfig", "mpt/configuration_mpt.py:123"),
    "dbrx": ClassDefault("max_seq_len", 2_048, "DbrxConfig", "dbrx/configuration_dbrx.py:125"),
}
# The text sub-config's model_type when a multimodal config's text_config does not say it.
TEXT_MODEL_TYPES = {"gemma3": "gemma3_text"}
NO_MULTIPLY_ROPE_TYPES = frozenset({"llama3", "longrope", "default"})
ROPE_TYPE_ALIASES = {"su": "longrope", "mrope": "default"}

# Architectures known to take images / video / audio (vLLM's multimodal registry, by family). Text-only
# siblings of the same family (``Gemma3ForCausalLM``, ``Llama4ForCausalLM``, ``Qwen3_5ForCausalLM``) must
# not match, so families whose text-only variants share a prefix name the multimodal class in full.
VISION_ARCH_RE = re.compile(
    r"(VL|Vision|Llava|LLaVA|InternVL|InternLM2VE|Idefics|Pixtral|Mllama|PaliGemma|Gemma3ForConditional|"
    r"Gemma3n|Llama4ForConditional|Phi3V|Phi4MM|MiniCPMV|MiniCPMO|Molmo|Blip|Chameleon|Fuyu|Aria|"
    r"DeepseekVL|Ovis|Omni|Kimi.*VL|Step3VL|GLM4V|Glm4v|Qwen3_5(Moe)?ForConditional|Mistral3ForConditional|"
    r"SmolVLM|Emu3|Florence|Cohere2Vision|AyaVision)",
)
VIDEO_ARCH_RE = re.compile(
    r"(Qwen2VL|Qwen2_5_VL|Qwen3VL|Qwen3_5(Moe)?ForConditional|Qwen2_5Omni|Qwen3Omni|LlavaNextVideo|"
    r"LlavaOnevision|VideoLlava|Glm4v|GLM4V|KeyeVL|MiniCPMV|MiniCPMO|InternVL)",
)
AUDIO_ARCH_RE = re.compile(
    r"(Whisper|Audio|Omni|Speech|Voxtral|Ultravox|MiniCPMO|Phi4MM|Wav2Vec2|Hubert)", re.IGNORECASE
)
IMAGE_TOKEN_KEYS = ("image_token_id", "image_token_index")
VIDEO_TOKEN_KEYS = ("video_token_id", "video_token_index")
AUDIO_TOKEN_KEYS = ("audio_token_id", "audio_token_index")
IMAGE_SUBCONFIG_KEYS = ("vision_config", "vision_encoder_config", "thinker_config.vision_config")
AUDIO_SUBCONFIG_KEYS = ("audio_config", "thinker_config.audio_config")

PIPELINE_OUTPUTS = {
    "feature-extraction": "embeddings",
    "sentence-similarity": "embeddings",
    "text-ranking": "rerank",
    "text-to-image": "image",
    "image-to-image": "image",
    "text-to-speech": "speech",
    "text-to-audio": "audio",
    "text-to-video": "video",
    "automatic-speech-recognition": "text",
}
EMBEDDING_LIBRARIES = frozenset({"sentence-transformers"})
#: outputs of the models vLLM serves with its pooling runner (the tokenizer-length rule depends on it)
POOLING_OUTPUTS = frozenset({"embeddings", "rerank"})
# A Hub tag saying the model generates: architecture-based pooling guesses never override it.
GENERATIVE_PIPELINES = frozenset(
    {
        "text-generation",
        "text2text-generation",
        "image-text-to-text",
        "any-to-any",
        "conversational",
        "visual-question-answering",
        "audio-text-to-text",
        "video-text-to-text",
        "automatic-speech-recognition",
        "translation",
        "summarization",
    }
)


@dataclass(frozen=True)
class Sourced:
    value: Any
    source: str


@dataclass(frozen=True)
class HubFiles:
    """The parsed files of one checkpoint at one commit (absent files are None)."""

    config: Mapping[str, Any]
    tokenizer_config: Mapping[str, Any] | None = None
    chat_template: str | None = None
    preprocessor_config: Mapping[str, Any] | None = None
    sentence_bert_config: Mapping[str, Any] | None = None
    has_video_preprocessor: bool = False
    pipeline_tag: str | None = None
    tags: tuple[str, ...] = ()
    library_name: str | None = None


@dataclass(frozen=True)
class DerivedFacts:
    context_length: Sourced | None
    input_modalities: Sourced
    output_modalities: Sourced
    template_features: Sourced
    warnings: tuple[str, ...] = field(default=())


def _valid_length(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_PLAUSIBLE_LENGTH


def _architectures(config: Mapping[str, Any]) -> list[str]:
    arch = config.get("architectures")
    return [a for a in arch if isinstance(a, str)] if isinstance(arch, list) else []


def select_text_config(config: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The sub-config that describes the language model, and its path (``""`` for the top level)."""
    if any(re.fullmatch(r"Llava.*ForCausalLM", a) for a in _architectures(config)):
        return config, ""
    for key in TEXT_CONFIG_KEYS:
        sub = config.get(key)
        if isinstance(sub, Mapping):
            if key == "thinker_config" and isinstance(sub.get("text_config"), Mapping):
                return sub["text_config"], "thinker_config.text_config."
            return sub, f"{key}."
    return config, ""


def _model_types(config: Mapping[str, Any], text: Mapping[str, Any]) -> str:
    return f"{config.get('model_type', '')} {text.get('model_type', '')}"


def _rope_entries(
    text: Mapping[str, Any], prefix: str, config: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any]] | None:
    """The rope dict of the text config (else the top level's), and its path for provenance."""
    for owner, owner_prefix in ((text, prefix), (config, "")):
        for key in ("rope_parameters", "rope_scaling"):
            rope = owner.get(key)
            if isinstance(rope, Mapping) and rope:
                return owner_prefix + key, rope
    return None


def _rope_type(rope: Mapping[str, Any], where: str) -> tuple[str, str]:
    """(normalised type, type as written)."""
    raw_type = rope.get("rope_type", rope.get("type", "default"))
    if raw_type is None:
        raw_type = "default"
    if not isinstance(raw_type, str):
        raise DerivationError(f"{where}.rope_type is not a string: {raw_type!r}")
    return ROPE_TYPE_ALIASES.get(raw_type, raw_type), raw_type


def _scale(base: int, rope: Mapping[str, Any], text: Mapping[str, Any], where: str) -> tuple[int, str | None]:
    """Apply one rope-scaling dict to a base length, the way vLLM does.

    Returns the length and, when the rope dict changed it, how (``rope_scaling yarn 4096 x 40``).
    """
    rope_type, raw_type = _rope_type(rope, where)
    if rope_type in NO_MULTIPLY_ROPE_TYPES:
        return base, None
    factor = rope.get("factor")
    if factor is None:
        return base, None
    if (
        isinstance(factor, bool)
        or not isinstance(factor, int | float)
        or not math.isfinite(factor)
        or factor <= 0
    ):
        raise DerivationError(f"{where}.factor is not a positive number: {factor!r}")
    if factor > 1024:
        raise DerivationError(f"{where}.factor {factor!r} is absurd")
    if rope_type == "yarn":
        original = rope.get("original_max_position_embeddings", text.get("original_max_position_embeddings"))
        if original is not None:
            if not _valid_length(original):
                raise DerivationError(f"{where}.original_max_position_embeddings is invalid: {original!r}")
            return int(original * factor), f"{where} {raw_type} {original} x {_num(factor)}"
    return int(base * factor), f"{where} {raw_type} {base} x {_num(factor)}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _length_candidates(owner: Mapping[str, Any], prefix: str) -> list[tuple[int, str]]:
    return [
        (owner[key], f"{prefix}{key}")
        for key in LENGTH_KEYS
        if key != "model_max_length" and _valid_length(owner.get(key))
    ]


def _class_default(config: Mapping[str, Any], text: Mapping[str, Any], prefix: str) -> tuple[int, str] | None:
    model_type = text.get("model_type")
    if not isinstance(model_type, str) and prefix:
        model_type = TEXT_MODEL_TYPES.get(str(config.get("model_type")))
    known = CONFIG_CLASS_DEFAULTS.get(model_type) if isinstance(model_type, str) else None
    if known is None:
        return None
    return known.value, f"{prefix}{known.key} (absent: transformers {known.cls} default)"


#: vLLM's window when neither config.json, its configuration class nor a tokenizer it reads declares a length
#: (vllm/config/model.py ``_get_and_verify_max_len``: when no key gave a length, ``default_max_len = 2048`` and
#: the warning "The model's config.json does not contain any of the following keys ... Assuming the model's
#: maximum length is 2048"; a ``--max-model-len`` given by the operator is returned as is, before rope scaling;
#: else rope scaling applies to 2048). Fixture: state-spaces/mamba-2.8b-hf (MambaConfig has no length).
#: ModelConfig.get_and_verify_max_len passes tokenizer_config.json there only for pooling models whose config
#: says position_embedding_type "absolute" (see _tokenizer_length): another model's tokenizer length does not
#: spare it the assumed window.
VLLM_DEFAULT_MAX_LEN = 2048
#: the provenance of that assumed window starts with this; the listing warns on it (see assumed_window)
ASSUMED_WINDOW_SOURCE = "no length declared: vLLM assumes"


def assumed_window(source: str | None) -> bool:
    """Whether a context-length provenance is vLLM's assumed default window, not a declared one."""
    return source is not None and source.startswith("config.json") and ASSUMED_WINDOW_SOURCE in source


def assumed_window_warning(length: int) -> str:
    """The warning of a model listed with vLLM's assumed window (its config declares no length)."""
    return (
        f"context_length {length} is vLLM's assumed default: config.json and its transformers configuration"
        " class declare no length, and vLLM reads none from tokenizer_config.json (vLLM logs the same warning);"
        " confirm the served window with context_length in the catalog"
    )


def _declares_a_broken_length(config: Mapping[str, Any], text: Mapping[str, Any]) -> bool:
    """A length key with a value (not null) that is no usable length: vLLM fails or serves nonsense on it."""
    return any(owner.get(key) is not None for owner in (text, config) for key in LENGTH_KEYS)


#: why vLLM reads a tokenizer's model_max_length (ModelConfig.get_and_verify_max_len), for provenance
TOKENIZER_RULE = "pooling model, absolute position embeddings"


def _tokenizer_length(
    config: Mapping[str, Any], tokenizer_config: Mapping[str, Any] | None, pooling: bool
) -> tuple[int | None, str]:
    """tokenizer_config.json's ``model_max_length`` when vLLM reads it, else None; and, for a usable length it
    does not read, why not (for provenance).

    vLLM passes tokenizer_config.json to its length rule only when the runner is ``pooling`` (embedding,
    rerank, classification) and the top-level config's ``position_embedding_type`` is ``"absolute"`` (read
    from config.json: transformers 5's BERT-family classes keep no default for it); the smaller length wins.
    A "no limit" sentinel or a non-integer is ignored, as everywhere else.
    """
    tok_max = (tokenizer_config or {}).get("model_max_length")
    if not _valid_length(tok_max):
        return None, ""
    if pooling and config.get("position_embedding_type") == "absolute":
        return tok_max, ""
    position = config.get("position_embedding_type")
    why = (
        "not a pooling model"
        if not pooling
        else f"position_embedding_type {position!r}, not 'absolute'"
        if position is not None
        else "config.json sets no position_embedding_type"
    )
    return None, f"tokenizer_config.json model_max_length={tok_max} not read: {why}"


def derive_context_length(
    config: Mapping[str, Any],
    tokenizer_config: Mapping[str, Any] | None = None,
    sentence_bert_config: Mapping[str, Any] | None = None,
    *,
    pooling: bool = False,
) -> Sourced | None:
    """The native context window vLLM would accept, or None when nothing declares one.

    ``pooling``: the model is served by vLLM's pooling runner (its outputs are embeddings or rerank scores);
    only then can the tokenizer's length count (see ``_tokenizer_length``).
    """
    native = _native_context_length(config, tokenizer_config, pooling=pooling)
    # Sentence Transformers models: vLLM serves sentence_bert_config.json's max_seq_length, whatever else.
    encoder_max = (sentence_bert_config or {}).get("max_seq_length")
    if _valid_length(encoder_max):
        replaced = f" (replaces {native.source.removeprefix('config.json ')})" if native else ""
        return Sourced(encoder_max, f"sentence_bert_config.json max_seq_length={encoder_max}{replaced}")
    return native


def _native_context_length(
    config: Mapping[str, Any], tokenizer_config: Mapping[str, Any] | None = None, *, pooling: bool = False
) -> Sourced | None:
    text, prefix = select_text_config(config)
    tok_max, tok_ignored = _tokenizer_length(config, tokenizer_config, pooling)
    # The text config's own keys win, then its class's default (what transformers fills in); the top level
    # speaks only when the text config is silent and of a class we do not know.
    candidates = _length_candidates(text, prefix)
    declares = any(key in text for key in LENGTH_KEYS)  # even as null: transformers keeps an explicit null
    if not candidates and not declares:
        default = _class_default(config, text, prefix)
        if default is not None:
            candidates = [default]
        elif prefix:
            candidates = _length_candidates(config, "")
    for owner, owner_prefix in ((text, prefix), (config, "")):
        model_max = owner.get("model_max_length")
        if _valid_length(model_max):
            # Cohere Command-R: max_position_embeddings 8192, model_max_length 131072; the latter is served.
            source = f"config.json {owner_prefix}model_max_length={model_max}"
            if candidates:
                base, base_key = min(candidates)
                source += f" (overrides {base_key}={base})"
            if tok_max is not None and tok_max < model_max:
                return Sourced(tok_max, _tokenizer_source(tok_max, f"smaller than {source}"))
            return Sourced(model_max, source)
    if not candidates and tok_max is None:
        if _declares_a_broken_length(config, text):
            return None  # a length key holding a string, a non-positive number or a sentinel: refused
        # vLLM: nothing declares a length (absent or null keys, no class default, no tokenizer length it
        # reads): it assumes 2048, warns, and still applies the rope scaling to it.
        ignored = f" ({tok_ignored})" if tok_ignored else ""
        candidates = [(VLLM_DEFAULT_MAX_LEN, f"{ASSUMED_WINDOW_SOURCE} {VLLM_DEFAULT_MAX_LEN}{ignored}")]
    if candidates:
        base, base_key = min(candidates)
        if ASSUMED_WINDOW_SOURCE in base_key:
            source = f"config.json {base_key}"
        elif "(absent" in base_key:
            source = f"config.json {base_key}: {base}"
        else:
            source = f"config.json {base_key}={base}"
    if tok_max is not None and (not candidates or tok_max < base):
        # vLLM: min(config length, tokenizer length), before rope scaling
        why = f"smaller than {source}" if candidates else "config.json declares no length"
        base, source = tok_max, _tokenizer_source(tok_max, why)
        base_key = source
    if "gemma3" in _model_types(config, text):
        return Sourced(base, source + " (gemma3: rope scaling not applied)")
    rope_found = _rope_entries(text, prefix, config)
    if rope_found is None:
        return Sourced(base, source)
    rope_key, rope = rope_found
    if all(isinstance(v, Mapping) for v in rope.values()):
        # Per-layer-type rope (transformers 5): each entry on its own; the full-attention layers bound the
        # window, else the longest reach of any layer type.
        results = {name: _scale(base, sub, text, f"{rope_key}.{name}") for name, sub in rope.items()}
        length, how = results.get("full_attention") or max(results.values(), key=lambda r: r[0])
    else:
        length, how = _scale(base, rope, text, rope_key)
    if how and (ASSUMED_WINDOW_SOURCE in base_key or base_key.startswith("tokenizer_config.json")):
        how += f" ({base_key})"
    return Sourced(length, f"config.json {how}" if how else source)


def _tokenizer_source(length: int, why: str) -> str:
    return f"tokenizer_config.json model_max_length={length} ({TOKENIZER_RULE}; {why})"


def _has_mapping(config: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        owner: Any = config
        for part in key.split("."):
            owner = owner.get(part) if isinstance(owner, Mapping) else None
        if isinstance(owner, Mapping):
            return key
    return None


def _has_token(config: Mapping[str, Any], text: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    owners = [(config, ""), (text, "text config "), (config.get("thinker_config") or {}, "thinker_config.")]
    for owner, where in owners:
        for key in keys:
            value = owner.get(key) if isinstance(owner, Mapping) else None
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return f"{where}{key}"
    return None


def _pooling_output(files: HubFiles, archs: list[str]) -> tuple[str, str] | None:
    """Embedding and rerank models: their output is not text. (output, why)."""
    config = files.config
    if files.pipeline_tag in GENERATIVE_PIPELINES:
        return None
    if files.library_name in EMBEDDING_LIBRARIES or any(t in EMBEDDING_LIBRARIES for t in files.tags):
        return "embeddings", f"library {files.library_name or 'sentence-transformers'}"
    for arch in archs:
        if arch.endswith("ForSequenceClassification"):
            labels = config.get("id2label")
            num = config.get("num_labels", len(labels) if isinstance(labels, Mapping) else None)
            if num == 1:  # one score per (query, document) pair: a cross-encoder
                return "rerank", f"architecture {arch} with a single label (cross-encoder)"
        auto_map = config.get("auto_map")
        generative = isinstance(auto_map, Mapping) and any(
            "CausalLM" in str(k) or "Seq2Seq" in str(k) for k in auto_map
        )
        if (
            re.fullmatch(r"[A-Za-z0-9_]+Model", arch)
            and not arch.endswith(("LMHeadModel", "ForCausalLM"))
            and not generative
        ):  # a bare encoder/decoder without a generation head (XLMRobertaModel, BertModel, Qwen3Model)
            return "embeddings", f"architecture {arch} (no generation head)"
    return None


def derive_modalities(files: HubFiles) -> tuple[Sourced, Sourced]:
    """Input and output modalities from the config, the processors and the pipeline tag.

    Never from the tokenizer's special tokens: GLM-4.5 declares image tokens and is text-only.
    """
    config = files.config
    text, _ = select_text_config(config)
    arch_list = _architectures(config)
    archs = " ".join(arch_list)
    inputs = ["text"]
    why = ["text: always"]
    pre = files.preprocessor_config or {}

    reason = (
        _has_mapping(config, *IMAGE_SUBCONFIG_KEYS)
        or ("mm_vision_tower" if isinstance(config.get("mm_vision_tower"), str) else None)
        or _has_token(config, text, IMAGE_TOKEN_KEYS)
        or (f"architecture {archs}" if VISION_ARCH_RE.search(archs) else None)
    )
    pre_kind = str(pre.get("image_processor_type") or pre.get("processor_class") or "")
    if not reason and ("ImageProcessor" in pre_kind or "image_mean" in pre):
        reason = f"preprocessor_config.json {pre_kind or 'image_mean'}"
    if reason:
        inputs.append("image")
        why.append(
            f"image: config.json {reason}" if not reason.startswith("preprocessor") else f"image: {reason}"
        )

    reason = _has_token(config, text, VIDEO_TOKEN_KEYS) or (
        f"architecture {archs}" if VIDEO_ARCH_RE.search(archs) else None
    )
    if reason:
        why.append(f"video: config.json {reason}")
    elif files.has_video_preprocessor:
        reason = "video_preprocessor_config.json"
        why.append(f"video: {reason}")
    if reason:
        inputs.append("video")

    feature_extractor = str(pre.get("feature_extractor_type") or "")
    reason = (
        _has_mapping(config, *AUDIO_SUBCONFIG_KEYS)
        or _has_token(config, text, AUDIO_TOKEN_KEYS)
        or (f"architecture {archs}" if AUDIO_ARCH_RE.search(archs) else None)
    )
    if reason:
        why.append(f"audio: config.json {reason}")
    elif feature_extractor and ("Whisper" in feature_extractor or "sampling_rate" in pre):
        reason = f"preprocessor_config.json {feature_extractor}"
        why.append(f"audio: {reason}")
    if reason:
        inputs.append("audio")

    outputs = ["text"]
    out_why = "text"
    pipeline_output = PIPELINE_OUTPUTS.get(files.pipeline_tag or "")
    pooling = _pooling_output(files, arch_list)
    if pipeline_output and pipeline_output != "text":
        outputs, out_why = [pipeline_output], f"pipeline_tag {files.pipeline_tag}"
    elif pooling is not None:
        outputs, out_why = [pooling[0]], f"config.json {pooling[1]}"
    talker = config.get("talker_config")
    if (
        isinstance(talker, Mapping)
        and config.get("enable_audio_output", True) is not False
        and config.get("enable_talker", True) is not False
        and "audio" not in outputs
    ):
        outputs.append("audio")
        out_why += ", audio: config.json talker_config with audio output enabled"
    return (
        Sourced(tuple(inputs), "hub: " + "; ".join(why)),
        Sourced(tuple(outputs), "hub: " + out_why),
    )


TOOLS_RE = re.compile(r"\btools\b|\btool_calls\b")
REASONING_RE = re.compile(r"enable_thinking|<think>|reasoning_content|reasoning_effort")


def chat_template_text(files: HubFiles) -> tuple[str | None, str]:
    if files.chat_template is not None:
        return files.chat_template, "chat_template.jinja"
    template = (files.tokenizer_config or {}).get("chat_template")
    if isinstance(template, str):
        return template, "tokenizer_config.json chat_template"
    if isinstance(template, list):  # named templates: [{"name": ..., "template": ...}]
        joined = "\n".join(str(t.get("template", "")) for t in template if isinstance(t, Mapping))
        return joined or None, "tokenizer_config.json chat_template"
    return None, "no chat template"


ENABLE_THINKING_RE = re.compile(r"\benable_thinking\b")
REASONING_EFFORT_RE = re.compile(r"\breasoning_effort\b")
_WORD = r"""['"]([A-Za-z_]+)['"]"""
# The values a template accepts for reasoning_effort, read off its comparisons and its default:
# ``reasoning_effort == 'low'``, ``reasoning_effort in ['low', 'high']``, ``set reasoning_effort = "medium"``.
EFFORT_COMPARED_RE = re.compile(rf"reasoning_effort\s*(?:==|!=)\s*{_WORD}")
EFFORT_LISTED_RE = re.compile(r"reasoning_effort\s+(?:not\s+)?in\s*[\[(]([^\])]*)[\])]")
EFFORT_DEFAULT_RE = re.compile(rf"set\s+reasoning_effort\s*=\s*{_WORD}")
#: a template that reads reasoning_effort as free text (gpt-oss' Harmony format) takes these levels
DEFAULT_EFFORT_LEVELS = ("low", "medium", "high")
#: template hints of the reasoning control: ``enable_thinking`` and ``reasoning_effort=low|medium|high``
EFFORT_HINT = "reasoning_effort="


def template_effort_levels(template: str) -> tuple[str, ...]:
    """The reasoning_effort values a template names (in the order it names them), else the default levels."""
    words: list[str] = []
    for match in EFFORT_LISTED_RE.finditer(template):
        words += re.findall(r"""['"]([A-Za-z_]+)['"]""", match.group(1))
    words += EFFORT_COMPARED_RE.findall(template)
    named = list(dict.fromkeys(words))
    if not named:
        return DEFAULT_EFFORT_LEVELS
    default = EFFORT_DEFAULT_RE.findall(template)
    return tuple(dict.fromkeys([*named, *(d for d in default if d not in named)]))


def derive_template_features(files: HubFiles) -> Sourced:
    """Hints from the chat template, read as text (never rendered): tool calling, reasoning, and the
    reasoning control the engine passes through ``chat_template_kwargs``: ``enable_thinking`` (a toggle)
    when the template reads it, ``reasoning_effort=<levels>`` when it reads ``reasoning_effort``; a template
    that shows reasoning and reads neither has no control (it always reasons)."""
    template, where = chat_template_text(files)
    if template is None:
        return Sourced(None, where)
    hints = []
    if TOOLS_RE.search(template):
        hints.append("tools")
    if REASONING_RE.search(template):
        hints.append("reasoning")
    if ENABLE_THINKING_RE.search(template):
        hints.append("enable_thinking")
    if REASONING_EFFORT_RE.search(template):
        hints.append(EFFORT_HINT + "|".join(template_effort_levels(template)))
    return Sourced(tuple(hints), where)


def derive_facts(files: HubFiles) -> DerivedFacts:
    inputs, outputs = derive_modalities(files)
    # vLLM's pooling runner serves what syncer lists as embedding and rerank models (derive_category)
    pooling = any(o in POOLING_OUTPUTS for o in outputs.value)
    context_length = derive_context_length(
        files.config, files.tokenizer_config, files.sentence_bert_config, pooling=pooling
    )
    warnings = (
        (assumed_window_warning(context_length.value),)
        if context_length is not None and assumed_window(context_length.source)
        else ()
    )
    return DerivedFacts(
        context_length=context_length,
        input_modalities=inputs,
        output_modalities=outputs,
        template_features=derive_template_features(files),
        warnings=warnings,
    )


CATEGORY_BY_PIPELINE = {
    "feature-extraction": "embedding",
    "sentence-similarity": "embedding",
    "text-ranking": "rerank",
    "text-to-image": "image",
    "image-to-image": "image",
    "unconditional-image-generation": "image",
    "automatic-speech-recognition": "audio",
    "text-to-speech": "audio",
    "text-to-audio": "audio",
    "audio-to-audio": "audio",
    "audio-classification": "audio",
    "text-to-video": "video",
    "image-to-video": "video",
}
CATEGORY_BY_OUTPUT = {
    "embeddings": "embedding",
    "rerank": "rerank",
    "image": "image",
    "speech": "audio",
    "transcription": "audio",
    "audio": "audio",
    "video": "video",
}


def derive_category(output_modalities: tuple[str, ...] | list[str], pipeline_tag: str | None) -> Sourced:
    """``text`` for chat/completion models (vision and reasoning are capabilities, not categories), else
    ``embedding``, ``rerank``, ``image``, ``audio`` or ``video``: from what the model gives, then the tag."""
    if "text" not in output_modalities:
        for modality in output_modalities:
            if modality in CATEGORY_BY_OUTPUT:
                return Sourced(
                    CATEGORY_BY_OUTPUT[modality], f"output_modalities {','.join(output_modalities)}"
                )
    if pipeline_tag in CATEGORY_BY_PIPELINE:
        return Sourced(CATEGORY_BY_PIPELINE[pipeline_tag], f"pipeline_tag {pipeline_tag}")
    return Sourced("text", f"output_modalities {','.join(output_modalities)}")


def display_name(repo_id: str) -> str:
    """``Qwen/Qwen3.5-9B`` -> ``Qwen3.5 9B``."""
    name = repo_id.rsplit("/", 1)[-1]
    return re.sub(r"[-_]+", " ", name).strip() or repo_id
