"""Deriving listing facts from a checkpoint's files: pure functions, no I/O.

Each function takes parsed Hub files and returns the value together with a short provenance string
(``config.json text_config.max_position_embeddings=262144``), so ``syncer explain`` can say where every
listed value came from. The context-length rules follow vLLM's, the engine most providers serve with.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

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
NO_MULTIPLY_ROPE_TYPES = frozenset({"llama3", "longrope", "default"})
ROPE_TYPE_ALIASES = {"su": "longrope", "mrope": "default"}

VISION_ARCH_RE = re.compile(
    r"(VL|Vision|Llava|LLaVA|InternVL|InternLM2VE|Idefics|Pixtral|Mllama|PaliGemma|Gemma3ForConditional|"
    r"Gemma3n|Llama4ForConditional|Phi3V|Phi4MM|MiniCPMV|MiniCPMO|Molmo|Blip|Chameleon|Fuyu|Aria|"
    r"DeepseekVL|Ovis|Omni|Kimi.*VL|Step3VL|GLM4V|Glm4v|Qwen3_5|Mistral3ForConditional|SmolVLM|Emu3)",
)
VIDEO_ARCH_RE = re.compile(
    r"(Qwen2VL|Qwen2_5_VL|Qwen3VL|Qwen3_5|Qwen2_5Omni|Qwen3Omni|LlavaNextVideo|LlavaOnevision|VideoLlava|"
    r"Glm4v|GLM4V|KeyeVL|MiniCPMV|MiniCPMO|InternVL)",
)
AUDIO_ARCH_RE = re.compile(r"(Whisper|Audio|Omni|Speech|Voxtral|Ultravox|MiniCPMO|Phi4MM)", re.IGNORECASE)
IMAGE_TOKEN_KEYS = ("image_token_id", "image_token_index")
VIDEO_TOKEN_KEYS = ("video_token_id", "video_token_index")
AUDIO_TOKEN_KEYS = ("audio_token_id", "audio_token_index")

PIPELINE_OUTPUTS = {
    "feature-extraction": "embeddings",
    "sentence-similarity": "embeddings",
    "text-ranking": "rerank",
    "text-to-image": "image",
    "text-to-speech": "speech",
    "text-to-audio": "audio",
    "automatic-speech-recognition": "text",
}


class DerivationError(ValueError):
    """The Hub files hold data we refuse (absurd values, wrong types); the message names the key."""


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
    has_video_preprocessor: bool = False
    pipeline_tag: str | None = None


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


def _rope_entries(text: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    for owner, prefix in ((text, ""), (config, "")):
        for key in ("rope_parameters", "rope_scaling"):
            rope = owner.get(key)
            if isinstance(rope, Mapping) and rope:
                return prefix + key, rope
    return None


def _scale(base: int, rope: Mapping[str, Any], text: Mapping[str, Any], where: str) -> tuple[int, str]:
    """Apply one rope-scaling dict to a base length, the way vLLM does."""
    raw_type = rope.get("rope_type", rope.get("type", "default"))
    if not isinstance(raw_type, str):
        raise DerivationError(f"{where}.rope_type is not a string: {raw_type!r}")
    rope_type = ROPE_TYPE_ALIASES.get(raw_type, raw_type)
    if rope_type in NO_MULTIPLY_ROPE_TYPES:
        return base, f"{where} {raw_type} (no multiply)"
    factor = rope.get("factor")
    if factor is None:
        return base, f"{where} {raw_type} without factor"
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
            return int(original * factor), f"{where} yarn {original} x {_num(factor)}"
    return int(base * factor), f"{where} {raw_type} {base} x {_num(factor)}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def derive_context_length(
    config: Mapping[str, Any], tokenizer_config: Mapping[str, Any] | None = None
) -> Sourced | None:
    """The native context window vLLM would accept, or None when nothing declares one."""
    text, prefix = select_text_config(config)
    candidates: list[tuple[int, str]] = []
    for owner, owner_prefix in ((text, prefix), (config, "")):
        for key in LENGTH_KEYS:
            if key == "model_max_length":
                continue
            value = owner.get(key)
            if _valid_length(value):
                candidates.append((value, f"{owner_prefix}{key}"))
            elif isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise DerivationError(f"config.json {owner_prefix}{key} is negative: {value!r}")
        if candidates:
            break  # the text config's own keys win over the top level's
    model_max = text.get("model_max_length", config.get("model_max_length"))
    if _valid_length(model_max):
        # Cohere Command-R: max_position_embeddings 8192, model_max_length 131072; the latter is served.
        return Sourced(
            model_max, f"config.json {prefix if 'model_max_length' in text else ''}model_max_length"
        )
    if not candidates:
        tok_max = (tokenizer_config or {}).get("model_max_length")
        if _valid_length(tok_max):
            return Sourced(tok_max, "tokenizer_config.json model_max_length (config.json declares no length)")
        return None
    base, base_key = min(candidates)
    source = f"config.json {base_key}={base}"
    if "gemma3" in _model_types(config, text):
        return Sourced(base, source + " (gemma3: rope scaling not applied)")
    rope_found = _rope_entries(text, config)
    if rope_found is None:
        return Sourced(base, source)
    rope_key, rope = rope_found
    if all(isinstance(v, Mapping) for v in rope.values()):
        # Per-layer-type rope (transformers 5): the full-attention layers bound the window.
        results = {name: _scale(base, sub, text, f"{rope_key}.{name}") for name, sub in rope.items()}
        chosen = results.get("full_attention") or max(results.values())
        return Sourced(chosen[0], f"{source}, {chosen[1]}")
    length, how = _scale(base, rope, text, rope_key)
    return Sourced(length, f"{source}, {how}" if length != base or "no multiply" in how else source)


def _has_mapping(config: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        owner: Any = config
        for part in key.split("."):
            owner = owner.get(part) if isinstance(owner, Mapping) else None
        if isinstance(owner, Mapping):
            return key
    return None


def _has_token(config: Mapping[str, Any], text: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for owner in (config, text, config.get("thinker_config") or {}):
        for key in keys:
            if (
                isinstance(owner, Mapping)
                and isinstance(owner.get(key), int)
                and not isinstance(owner.get(key), bool)
            ):
                return key
    return None


def derive_modalities(files: HubFiles) -> tuple[Sourced, Sourced]:
    """Input and output modalities from the config, the processors and the pipeline tag."""
    config = files.config
    text, _ = select_text_config(config)
    archs = " ".join(_architectures(config))
    inputs = ["text"]
    why = ["text: always"]

    reason = (
        _has_mapping(config, "vision_config", "vision_encoder_config", "thinker_config.vision_config")
        or _has_token(config, text, IMAGE_TOKEN_KEYS)
        or (f"architecture {archs}" if VISION_ARCH_RE.search(archs) else None)
    )
    pre = files.preprocessor_config or {}
    pre_kind = str(pre.get("image_processor_type") or pre.get("processor_class") or "")
    if not reason and ("ImageProcessor" in pre_kind or "image_mean" in pre):
        reason = f"preprocessor_config.json {pre_kind or 'image_mean'}"
    if reason:
        inputs.append("image")
        why.append(f"image: {reason}")

    reason = (
        _has_token(config, text, VIDEO_TOKEN_KEYS)
        or ("video_preprocessor_config.json" if files.has_video_preprocessor else None)
        or (f"architecture {archs}" if VIDEO_ARCH_RE.search(archs) else None)
    )
    if reason:
        inputs.append("video")
        why.append(f"video: {reason}")

    feature_extractor = str(pre.get("feature_extractor_type") or "")
    reason = (
        _has_mapping(config, "audio_config", "thinker_config.audio_config")
        or _has_token(config, text, AUDIO_TOKEN_KEYS)
        or (f"architecture {archs}" if AUDIO_ARCH_RE.search(archs) else None)
        or (f"preprocessor_config.json {feature_extractor}" if "Whisper" in feature_extractor else None)
    )
    if reason:
        inputs.append("audio")
        why.append(f"audio: {reason}")

    outputs = ["text"]
    out_why = "text"
    pipeline_output = PIPELINE_OUTPUTS.get(files.pipeline_tag or "")
    if pipeline_output and pipeline_output != "text":
        outputs, out_why = [pipeline_output], f"pipeline_tag {files.pipeline_tag}"
    talker = config.get("talker_config")
    if isinstance(talker, Mapping) and config.get("enable_audio_output", True) is not False:
        outputs.append("audio")
        out_why += ", audio: talker_config with audio output enabled"
    return (
        Sourced(tuple(inputs), "hub: " + "; ".join(why)),
        Sourced(tuple(outputs), "hub: " + out_why),
    )


TOOLS_RE = re.compile(r"\btools\b")
REASONING_RE = re.compile(r"enable_thinking|<think>|reasoning_content")


def chat_template_text(files: HubFiles) -> tuple[str | None, str]:
    if files.chat_template is not None:
        return files.chat_template, "chat_template.jinja"
    template = (files.tokenizer_config or {}).get("chat_template")
    if isinstance(template, str):
        return template, "tokenizer_config.json chat_template"
    if isinstance(template, list):  # named templates: [{"name": ..., "template": ...}]
        joined = "\n".join(t.get("template", "") for t in template if isinstance(t, Mapping))
        return joined or None, "tokenizer_config.json chat_template"
    return None, "no chat template"


def derive_template_features(files: HubFiles) -> Sourced:
    """Hints from the chat template, read as text (never rendered): tool calling and reasoning."""
    template, where = chat_template_text(files)
    if template is None:
        return Sourced(None, where)
    hints = []
    if TOOLS_RE.search(template):
        hints.append("tools")
    if REASONING_RE.search(template):
        hints.append("reasoning")
    return Sourced(tuple(hints), where)


def derive_facts(files: HubFiles) -> DerivedFacts:
    inputs, outputs = derive_modalities(files)
    return DerivedFacts(
        context_length=derive_context_length(files.config, files.tokenizer_config),
        input_modalities=inputs,
        output_modalities=outputs,
        template_features=derive_template_features(files),
    )


def display_name(repo_id: str) -> str:
    """``Qwen/Qwen3.5-9B`` -> ``Qwen3.5 9B``."""
    name = repo_id.rsplit("/", 1)[-1]
    return re.sub(r"[-_]+", " ", name).strip() or repo_id
