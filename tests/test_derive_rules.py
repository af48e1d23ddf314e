"""Each derivation rule of issue 3 on its own, with small inline configs (real keys, real spellings)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from syncer.derive import (
    CONFIG_CLASS_DEFAULTS,
    TRANSFORMERS_SOURCE,
    VLLM_DEFAULT_MAX_LEN,
    DerivationError,
    HubFiles,
    assumed_window,
    assumed_window_warning,
    derive_category,
    derive_context_length,
    derive_facts,
    derive_modalities,
    derive_template_features,
    display_name,
    select_text_config,
)


def _length(
    config: dict[str, Any], tokenizer: dict[str, Any] | None = None, *, pooling: bool = False
) -> int | None:
    result = derive_context_length(config, tokenizer, pooling=pooling)
    return None if result is None else result.value


def _inputs(config: dict[str, Any], **files: Any) -> list[str]:
    return list(derive_modalities(HubFiles(config=config, **files))[0].value)


def _outputs(config: dict[str, Any], **files: Any) -> list[str]:
    return list(derive_modalities(HubFiles(config=config, **files))[1].value)


# -- choosing the text config -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"text_config": {"a": 1}, "llm_config": {"b": 1}}, "text_config."),
        ({"llm_config": {"b": 1}, "language_config": {"c": 1}}, "llm_config."),
        ({"language_config": {"c": 1}, "decoder": {"d": 1}}, "language_config."),
        ({"thinker_config": {"text_config": {"e": 1}}, "decoder": {}}, "thinker_config.text_config."),
        ({"thinker_config": {"e": 1}}, "thinker_config."),
        ({"decoder": {"d": 1}, "generator": {"g": 1}}, "decoder."),
        ({"generator": {"g": 1}}, "generator."),
        ({"max_position_embeddings": 1}, ""),
        ({"architectures": ["LlavaLlamaForCausalLM"], "text_config": {"x": 1}}, ""),
    ],
)
def test_text_config_selection_order(config: dict[str, Any], path: str) -> None:
    assert select_text_config(config)[1] == path


def test_llava_for_causal_lm_reads_the_top_level_not_its_text_config() -> None:
    config = {
        "architectures": ["LlavaQwenForCausalLM"],
        "max_position_embeddings": 32768,
        "text_config": {"max_position_embeddings": 2048},
    }
    assert _length(config) == 32768


def test_sub_config_wins_over_the_top_level() -> None:
    config = {"max_position_embeddings": 2048, "text_config": {"max_position_embeddings": 262144}}
    result = derive_context_length(config)
    assert result is not None and result.value == 262144
    assert "text_config.max_position_embeddings=262144" in result.source


def test_top_level_speaks_when_the_text_config_is_silent() -> None:
    assert _length({"max_position_embeddings": 4096, "llm_config": {"hidden_size": 8}}) == 4096


# -- length keys ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [
        "max_position_embeddings",
        "n_positions",
        "max_seq_len",
        "seq_length",
        "max_target_positions",
        "max_sequence_length",
        "max_seq_length",
        "seq_len",
    ],
)
def test_every_length_key_is_read(key: str) -> None:
    assert _length({key: 3000}) == 3000


def test_smallest_length_key_wins() -> None:
    assert _length({"max_position_embeddings": 8192, "seq_length": 4096, "n_positions": 16384}) == 4096


@pytest.mark.parametrize("bad", [None, 4096.0, "4096", True, 0, -1, int(1e30), 1e30, [4096]])
def test_null_non_integer_non_positive_and_sentinel_values_are_ignored(bad: Any) -> None:
    assert _length({"max_position_embeddings": bad, "n_positions": 2048}) == 2048
    # vLLM reads an explicit null as "not declared" and assumes its default window; anything else broken is refused
    assert _length({"max_position_embeddings": bad}) == (VLLM_DEFAULT_MAX_LEN if bad is None else None)


def test_model_max_length_in_the_model_config_overrides_the_minimum() -> None:
    # Cohere Command-R: max_position_embeddings 8192, model_max_length 131072 -> 131072 is served.
    result = derive_context_length({"max_position_embeddings": 8192, "model_max_length": 131072})
    assert result is not None and result.value == 131072
    assert "model_max_length=131072" in result.source and "8192" in result.source
    assert _length({"max_position_embeddings": 8192, "model_max_length": 4096}) == 4096


def test_model_max_length_sentinel_in_the_config_is_ignored() -> None:
    assert _length({"max_position_embeddings": 8192, "model_max_length": int(1e30)}) == 8192


def test_tokenizer_model_max_length_only_for_pooling_models_with_absolute_position_embeddings() -> None:
    # vLLM (ModelConfig.get_and_verify_max_len) reads tokenizer_config.json only for the pooling runner and
    # position_embedding_type "absolute"; then the smaller of the config's length and the tokenizer's wins.
    absolute = {"max_position_embeddings": 4096, "position_embedding_type": "absolute"}
    assert _length(absolute, {"model_max_length": 2048}, pooling=True) == 2048
    assert _length(absolute, {"model_max_length": 131072}, pooling=True) == 4096  # larger: the config's
    assert _length(absolute, {"model_max_length": 2048}) == 4096  # not pooling: ignored
    assert _length({"max_position_embeddings": 4096}, {"model_max_length": 2048}, pooling=True) == 4096
    assert _length(absolute, {"model_max_length": int(1e30)}, pooling=True) == 4096  # "no limit" sentinel
    # a pooling model with absolute positions and no length in its config: the tokenizer's
    result = derive_context_length(
        {"hidden_size": 8, "position_embedding_type": "absolute"}, {"model_max_length": 512}, pooling=True
    )
    assert result is not None and result.value == 512
    assert result.source == (
        "tokenizer_config.json model_max_length=512 (pooling model, absolute position embeddings;"
        " config.json declares no length)"
    )
    # any other model with no length: vLLM's assumed window, the tokenizer's length named as not read
    tokenizer = {"model_max_length": 131072}
    result = derive_context_length({"hidden_size": 8}, tokenizer)
    assert result is not None and result.value == VLLM_DEFAULT_MAX_LEN and assumed_window(result.source)
    assert "tokenizer_config.json model_max_length=131072 not read: not a pooling model" in result.source
    assert _length({"hidden_size": 8}, {"model_max_length": int(1e30)}) == VLLM_DEFAULT_MAX_LEN
    assert _length({"hidden_size": 8}) == VLLM_DEFAULT_MAX_LEN
    # the model config's own model_max_length (Command-R) is capped by the tokenizer's too
    assert _length({**absolute, "model_max_length": 8192}, {"model_max_length": 2048}, pooling=True) == 2048


@pytest.mark.parametrize("key", ["sliding_window", "attention_chunk_size", "max_window_layers"])
def test_sliding_window_and_chunking_never_shrink_the_window(key: str) -> None:
    assert _length({"max_position_embeddings": 131072, key: 4096}) == 131072


# -- rope scaling -------------------------------------------------------------------------------------------
def test_yarn_starts_from_original_and_multiplies_by_factor() -> None:
    # DeepSeek-R1: 4096 x 40 = 163840.
    config = {
        "max_position_embeddings": 163840,
        "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096},
    }
    result = derive_context_length(config)
    assert result is not None and result.value == 163840
    assert result.source == "config.json rope_scaling yarn 4096 x 40"


def test_yarn_can_exceed_max_position_embeddings() -> None:
    # Qwen3 with YaRN enabled as its card says: 32768 x 4 = 131072 while max_position_embeddings is 40960.
    config = {
        "max_position_embeddings": 40960,
        "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
    }
    assert _length(config) == 131072


def test_yarn_reads_original_from_the_text_config_when_the_rope_dict_lacks_it() -> None:
    config = {
        "max_position_embeddings": 131072,
        "original_max_position_embeddings": 8192,
        "rope_scaling": {"rope_type": "yarn", "factor": 2},
    }
    assert _length(config) == 16384


@pytest.mark.parametrize("rope_type", ["llama3", "longrope", "su"])
def test_llama3_and_longrope_never_multiply(rope_type: str) -> None:
    config = {
        "max_position_embeddings": 131072,
        "original_max_position_embeddings": 4096,
        "rope_scaling": {"rope_type": rope_type, "factor": 8.0, "original_max_position_embeddings": 8192},
    }
    assert _length(config) == 131072


@pytest.mark.parametrize("rope_type", ["default", "mrope"])
def test_default_and_mrope_have_no_factor(rope_type: str) -> None:
    config = {
        "max_position_embeddings": 32768,
        "rope_scaling": {"type": rope_type, "mrope_section": [16, 24, 24]},
    }
    assert _length(config) == 32768
    config["rope_scaling"]["factor"] = 4  # even a stray factor is not applied
    assert _length(config) == 32768


@pytest.mark.parametrize("rope_type", ["linear", "dynamic"])
def test_linear_and_dynamic_multiply(rope_type: str) -> None:
    config = {"max_position_embeddings": 4096, "rope_scaling": {"type": rope_type, "factor": 4.0}}
    result = derive_context_length(config)
    assert result is not None and result.value == 16384
    assert result.source == f"config.json rope_scaling {rope_type} 4096 x 4"


def test_legacy_type_key_and_rope_parameters_are_both_read() -> None:
    assert (
        _length({"max_position_embeddings": 4096, "rope_parameters": {"rope_type": "linear", "factor": 2}})
        == 8192
    )
    assert _length({"max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 2}}) == 8192


def test_rope_of_the_text_config_is_used_and_named() -> None:
    config = {
        "text_config": {
            "max_position_embeddings": 4096,
            "rope_scaling": {"rope_type": "yarn", "factor": 8, "original_max_position_embeddings": 4096},
        }
    }
    result = derive_context_length(config)
    assert result is not None and result.value == 32768
    assert result.source == "config.json text_config.rope_scaling yarn 4096 x 8"


def test_per_layer_type_rope_dicts_are_handled_per_entry() -> None:
    config = {
        "max_position_embeddings": 32768,
        "rope_parameters": {
            "full_attention": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
        },
    }
    result = derive_context_length(config)
    assert result is not None and result.value == 131072
    assert "rope_parameters.full_attention yarn" in result.source
    plain = {
        "max_position_embeddings": 32768,
        "rope_parameters": {
            "full_attention": {"rope_type": "default", "rope_theta": 1e6},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4},
        },
    }
    assert _length(plain) == 32768


@pytest.mark.parametrize("model_type", ["gemma3", "gemma3_text"])
def test_gemma3_skips_rope_scaling(model_type: str) -> None:
    config = {
        "model_type": model_type,
        "max_position_embeddings": 131072,
        "rope_scaling": {"rope_type": "linear", "factor": 8.0},
    }
    assert _length(config) == 131072
    nested = {"model_type": "gemma3", "text_config": {"model_type": model_type, **config}}
    assert _length(nested) == 131072


@pytest.mark.parametrize("factor", [0, -2, "4", float("inf"), 100000])
def test_absurd_rope_factor_is_refused_naming_the_key(factor: Any) -> None:
    config = {"max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": factor}}
    with pytest.raises(DerivationError, match=r"rope_scaling\.factor"):
        derive_context_length(config)


# -- modalities ----------------------------------------------------------------------------------------------
def test_text_only_by_default_and_never_from_tokenizer_special_tokens() -> None:
    # GLM-4.5 declares image/video tokens in its tokenizer, yet is text-only.
    tokenizer = {
        "added_tokens_decoder": {
            "151339": {"content": "<|begin_of_image|>", "special": True},
            "151341": {"content": "<|begin_of_video|>", "special": True},
        },
        "additional_special_tokens": ["<|begin_of_image|>", "<|image|>", "<|video|>", "<|audio|>"],
    }
    config = {
        "architectures": ["Glm4MoeForCausalLM"],
        "model_type": "glm4_moe",
        "max_position_embeddings": 131072,
    }
    assert _inputs(config, tokenizer_config=tokenizer) == ["text"]
    assert _outputs(config, tokenizer_config=tokenizer) == ["text"]


@pytest.mark.parametrize(
    "config",
    [
        {"vision_config": {"hidden_size": 8}},
        {"vision_encoder_config": {"hidden_size": 8}},
        {"image_token_index": 32000},
        {"text_config": {"image_token_id": 5}},
        {"architectures": ["Qwen2_5_VLForConditionalGeneration"]},
        {"architectures": ["Gemma3ForConditionalGeneration"]},
        {"architectures": ["LlavaLlamaForCausalLM"], "mm_vision_tower": "openai/clip-vit-large-patch14-336"},
    ],
)
def test_image_input_evidence_in_the_config(config: dict[str, Any]) -> None:
    assert "image" in _inputs(config)


def test_image_input_from_an_image_processor() -> None:
    pre = {"image_processor_type": "CLIPImageProcessor", "image_mean": [0.5, 0.5, 0.5]}
    assert _inputs({"architectures": ["SomethingForCausalLM"]}, preprocessor_config=pre) == ["text", "image"]


@pytest.mark.parametrize(
    "arch", ["Gemma3ForCausalLM", "Llama4ForCausalLM", "Qwen3_5ForCausalLM", "Mistral3ForCausalLM"]
)
def test_text_only_siblings_of_vision_families_are_text_only(arch: str) -> None:
    assert _inputs({"architectures": [arch]}) == ["text"]


def test_video_input_evidence() -> None:
    assert "video" in _inputs({"video_token_id": 151656})
    assert "video" in _inputs({"architectures": ["Qwen3VLMoeForConditionalGeneration"]})
    assert "video" in _inputs({"architectures": ["Foo"]}, has_video_preprocessor=True)
    assert "video" not in _inputs(
        {"architectures": ["LlavaForConditionalGeneration"], "image_token_index": 1}
    )


@pytest.mark.parametrize(
    ("config", "pre"),
    [
        ({"audio_config": {"d_model": 8}}, None),
        ({"thinker_config": {"audio_config": {"d_model": 8}, "text_config": {}}}, None),
        ({"audio_token_index": 151646}, None),
        ({"architectures": ["WhisperForConditionalGeneration"]}, None),
        ({"architectures": ["Qwen2AudioForConditionalGeneration"]}, None),
        (
            {"architectures": ["Foo"]},
            {"feature_extractor_type": "WhisperFeatureExtractor", "sampling_rate": 16000},
        ),
    ],
)
def test_audio_input_evidence(config: dict[str, Any], pre: dict[str, Any] | None) -> None:
    assert "audio" in _inputs(config, preprocessor_config=pre)


def test_omni_outputs_audio_only_with_an_enabled_talker() -> None:
    omni = {
        "architectures": ["Qwen2_5OmniForConditionalGeneration"],
        "thinker_config": {"audio_config": {}, "vision_config": {}, "text_config": {}},
        "talker_config": {"hidden_size": 8},
        "enable_audio_output": True,
    }
    assert _outputs(omni) == ["text", "audio"]
    assert _inputs(omni) == ["text", "image", "video", "audio"]
    assert _outputs({**omni, "enable_audio_output": False}) == ["text"]
    assert _outputs({**omni, "enable_talker": False}) == ["text"]
    assert _outputs({k: v for k, v in omni.items() if k != "talker_config"}) == ["text"]


def test_pooling_models_output_embeddings_or_rerank() -> None:
    assert _outputs({"architectures": ["XLMRobertaModel"]}) == ["embeddings"]
    assert _outputs({"architectures": ["BertModel"]}, pipeline_tag="feature-extraction") == ["embeddings"]
    reranker = {"architectures": ["XLMRobertaForSequenceClassification"], "id2label": {"0": "LABEL_0"}}
    assert _outputs(reranker, pipeline_tag="text-classification") == ["rerank"]
    sentiment = {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "NEG", "1": "POS"}}
    assert _outputs(sentiment) == ["text"]
    assert _outputs({"architectures": ["Qwen3ForCausalLM"]}, library_name="sentence-transformers") == [
        "embeddings"
    ]
    # Heads that generate are never embedding models, whatever their class name ends with.
    assert _outputs({"architectures": ["GPT2LMHeadModel"]}) == ["text"]
    chatglm = {
        "architectures": ["ChatGLMModel"],
        "auto_map": {"AutoModelForCausalLM": "x.ChatGLMForConditionalGeneration"},
    }
    assert _outputs(chatglm) == ["text"]
    assert _outputs({"architectures": ["SomeModel"]}, pipeline_tag="text-generation") == ["text"]


def test_modality_provenance_names_the_evidence() -> None:
    inputs, outputs = derive_modalities(
        HubFiles(config={"vision_config": {}}, pipeline_tag="image-text-to-text")
    )
    assert "image: config.json vision_config" in inputs.source
    assert outputs.source == "hub: text"


# -- chat template hints -------------------------------------------------------------------------------------
def test_template_hints_tools_and_reasoning() -> None:
    files = HubFiles(
        config={}, chat_template="{% if tools %}...{% endif %}{% if enable_thinking %}<think>{% endif %}"
    )
    # the template reads enable_thinking: reasoning, and its switch as a control hint (issue 14)
    assert derive_template_features(files).value == ("tools", "reasoning", "enable_thinking")
    assert derive_template_features(files).source == "chat_template.jinja"
    plain = HubFiles(config={}, chat_template="{% for m in messages %}{{ m.content }}{% endfor %}")
    assert derive_template_features(plain).value == ()
    assert derive_template_features(HubFiles(config={})).value is None


def test_template_file_wins_over_tokenizer_config() -> None:
    files = HubFiles(
        config={},
        chat_template="{{ messages }}",
        tokenizer_config={"chat_template": "{{ tools }} reasoning_content"},
    )
    assert derive_template_features(files).value == ()
    only_tokenizer = HubFiles(config={}, tokenizer_config={"chat_template": "{{ tools }} reasoning_content"})
    result = derive_template_features(only_tokenizer)
    assert result.value == ("tools", "reasoning") and result.source == "tokenizer_config.json chat_template"
    named = HubFiles(
        config={},
        tokenizer_config={
            "chat_template": [
                {"name": "default", "template": "x"},
                {"name": "tool_use", "template": "{{ tools }}"},
            ]
        },
    )
    assert derive_template_features(named).value == ("tools",)


# -- names and categories ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("repo", "name"),
    [
        ("Qwen/Qwen3.5-9B", "Qwen3.5 9B"),
        ("meta-llama/Llama-3.1-8B-Instruct", "Llama 3.1 8B Instruct"),
        ("x/a_b", "a b"),
    ],
)
def test_display_name_from_the_repo_name(repo: str, name: str) -> None:
    assert display_name(repo) == name


@pytest.mark.parametrize(
    ("outputs", "tag", "category"),
    [
        (["text"], "text-generation", "text"),
        (["text"], "image-text-to-text", "text"),
        (["text", "audio"], "any-to-any", "text"),
        (["embeddings"], None, "embedding"),
        (["rerank"], "text-classification", "rerank"),
        (["image"], "text-to-image", "image"),
        (["text"], "automatic-speech-recognition", "audio"),
        (["speech"], None, "audio"),
        (["video"], None, "video"),
        (["text"], None, "text"),
    ],
)
def test_category(outputs: list[str], tag: str | None, category: str) -> None:
    assert derive_category(outputs, tag).value == category


# -- what the engine fills in, and what replaces the config's window -------------------------------------
def test_a_text_config_without_length_gets_its_config_class_default() -> None:
    # Gemma 3 multimodal checkpoints: text_config has no max_position_embeddings; Gemma3TextConfig says 131072,
    # and its linear rope factor is not applied.
    config = {
        "model_type": "gemma3",
        "max_position_embeddings": 999,  # the top level does not describe the language model
        "text_config": {"model_type": "gemma3_text", "rope_scaling": {"rope_type": "linear", "factor": 8.0}},
    }
    result = derive_context_length(config)
    assert result is not None and result.value == 131072
    assert "Gemma3TextConfig default" in result.source
    untyped = {"model_type": "gemma3", "text_config": {"hidden_size": 8}}
    assert _length(untyped) == 131072
    assert _length({"model_type": "llama", "hidden_size": 8}, {"model_max_length": 4096}) == 2048


def test_unknown_class_without_length_falls_back_to_the_top_level() -> None:
    assert _length({"max_position_embeddings": 4096, "text_config": {"model_type": "brand_new"}}) == 4096


def test_sentence_bert_max_seq_length_replaces_the_config_window() -> None:
    result = derive_context_length({"max_position_embeddings": 512}, None, {"max_seq_length": 256})
    assert result is not None and result.value == 256
    assert (
        result.source == "sentence_bert_config.json max_seq_length=256 (replaces max_position_embeddings=512)"
    )
    assert _length({"max_position_embeddings": 512}) == 512
    bad = derive_context_length({"max_position_embeddings": 512}, None, {"max_seq_length": None})
    assert bad is not None and bad.value == 512


# -- the tokenizer's length (vLLM: only pooling models with absolute position embeddings) ------------------
MIRROR_REPOS = Path(__file__).resolve().parent.parent / "mirror" / "repos"


def _fixture(repo_id: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MIRROR_REPOS / repo_id / name).read_text())
    return data


def test_a_pooling_model_with_absolute_positions_takes_the_smaller_tokenizer_length() -> None:
    # BAAI/bge-m3 (real files): XLMRobertaModel, position_embedding_type "absolute", max_position_embeddings
    # 8194 (2 of them XLM-R's padding offset); tokenizer_config.json model_max_length 8192: vLLM serves 8192.
    config = _fixture("BAAI/bge-m3", "config.json")
    tokenizer = _fixture("BAAI/bge-m3", "tokenizer_config.json")
    assert config["position_embedding_type"] == "absolute" and tokenizer["model_max_length"] == 8192
    facts = derive_facts(HubFiles(config=config, tokenizer_config=tokenizer))
    assert facts.output_modalities.value == ("embeddings",)  # pooling: XLMRobertaModel has no generation head
    assert facts.context_length is not None and facts.context_length.value == 8192
    assert facts.context_length.source == (
        "tokenizer_config.json model_max_length=8192 (pooling model, absolute position embeddings;"
        " smaller than config.json max_position_embeddings=8194)"
    )
    assert facts.warnings == ()
    # the same files read as a generative model: the tokenizer is not read, the config's 8194 stands
    assert _length(config, tokenizer) == 8194
    # with the repo's sentence_bert_config.json (max_seq_length 8192), that replaces whatever came before
    full = derive_facts(
        HubFiles(
            config=config,
            tokenizer_config=tokenizer,
            sentence_bert_config=_fixture("BAAI/bge-m3", "sentence_bert_config.json"),
        )
    )
    assert full.context_length is not None and full.context_length.value == 8192
    assert full.context_length.source.startswith(
        "sentence_bert_config.json max_seq_length=8192 (replaces tokenizer_config.json model_max_length=8192"
    )


def test_a_generative_model_with_only_a_tokenizer_length_gets_the_assumed_window_and_its_warning() -> None:
    # state-spaces/mamba-2.8b-hf (real config: no length key, MambaConfig has none) with a tokenizer that
    # says 131072: vLLM does not read it for a generative model, assumes 2048 and warns; so does sync.
    config = _fixture("state-spaces/mamba-2.8b-hf", "config.json")
    facts = derive_facts(
        HubFiles(config=config, tokenizer_config={"model_max_length": 131072}, pipeline_tag="text-generation")
    )
    assert facts.output_modalities.value == ("text",)
    assert facts.context_length is not None and facts.context_length.value == VLLM_DEFAULT_MAX_LEN
    assert assumed_window(facts.context_length.source)
    assert "tokenizer_config.json model_max_length=131072 not read: not a pooling model" in (
        facts.context_length.source
    )
    assert facts.warnings == (assumed_window_warning(VLLM_DEFAULT_MAX_LEN),)


@pytest.mark.parametrize("position", ["rotary", "relative_key", None])
def test_a_pooling_model_without_absolute_positions_ignores_the_tokenizer(position: str | None) -> None:
    # an XLM-R embedding model with rotary positions (jina-embeddings-v3 style spelling): vLLM does not read
    # the tokenizer, so its smaller length does not cap the window, and does not replace an absent one.
    config: dict[str, Any] = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "max_position_embeddings": 8194,
    }
    if position is not None:
        config["position_embedding_type"] = position
    tokenizer = {"model_max_length": 8192}
    facts = derive_facts(HubFiles(config=config, tokenizer_config=tokenizer))
    assert facts.output_modalities.value == ("embeddings",)
    assert facts.context_length == derive_context_length(config) and facts.context_length is not None
    assert facts.context_length.value == 8194 and "tokenizer" not in facts.context_length.source
    # no length anywhere (and no model_type, whose class could fill one in): the tokenizer does not spare
    # it vLLM's assumed window
    no_length = {k: v for k, v in config.items() if k not in ("max_position_embeddings", "model_type")}
    result = derive_context_length(no_length, tokenizer, pooling=True)
    assert result is not None and result.value == VLLM_DEFAULT_MAX_LEN and assumed_window(result.source)
    why = (
        f"position_embedding_type {position!r}, not 'absolute'"
        if position
        else "config.json sets no position_embedding_type"
    )
    assert f"tokenizer_config.json model_max_length=8192 not read: {why}" in result.source
    # a rerank model (single-label cross-encoder) is a pooling model too
    rerank = {**config, "architectures": ["XLMRobertaForSequenceClassification"], "num_labels": 1}
    assert derive_facts(HubFiles(config=rerank, tokenizer_config=tokenizer)).context_length == (
        derive_context_length(rerank)
    )
    absolute = {**rerank, "position_embedding_type": "absolute"}
    scored = derive_facts(HubFiles(config=absolute, tokenizer_config=tokenizer))
    assert scored.output_modalities.value == ("rerank",)
    assert scored.context_length is not None and scored.context_length.value == 8192


@pytest.mark.parametrize("bad", [None, "8192", -1, int(1e30)])
def test_class_default_fills_only_an_absent_key_never_a_broken_one(bad: Any) -> None:
    assert _length({"model_type": "gemma2"}) == 8192
    # an explicit null is kept by transformers (no class default) and read as absent by vLLM: its default
    expected = VLLM_DEFAULT_MAX_LEN if bad is None else None
    assert _length({"model_type": "gemma2", "max_position_embeddings": bad}) == expected


# -- transformers' class defaults and vLLM's assumed window ----------------------------------------------
# Read by hand from transformers v5.24.0, src/transformers/models/<dir>/configuration_<dir>.py (the line of
# each is in CONFIG_CLASS_DEFAULTS[...].source), independently of the table: a changed table value fails here.
TRANSFORMERS_DEFAULTS = {
    "llama": 2048, "mistral": 131072, "mixtral": 131072, "qwen2": 32768, "qwen2_moe": 32768,
    "qwen3": 32768, "qwen3_moe": 32768, "gemma": 8192, "gemma2": 8192, "gemma3_text": 131072,
    "phi3": 4096, "deepseek_v2": 2048, "deepseek_v3": 4096, "cohere": 8192, "cohere2": 8192,
    "starcoder2": 4096, "falcon": 2048, "gpt_neox": 2048, "olmo2": 2048, "granite": 2048,
    "glm4_moe": 131072, "gpt_oss": 131072, "gpt2": 1024, "mpt": 2048,
}  # fmt: skip


@pytest.mark.parametrize(("model_type", "expected"), sorted(TRANSFORMERS_DEFAULTS.items()))
def test_class_default_of_each_served_model_type(model_type: str, expected: int) -> None:
    known = CONFIG_CLASS_DEFAULTS[model_type]
    assert known.value == expected
    directory = "gemma3" if model_type == "gemma3_text" else model_type
    assert re.fullmatch(rf"{directory}/configuration_{directory}\.py:\d+", known.source), known.source
    result = derive_context_length({"model_type": model_type, "hidden_size": 8})
    assert result is not None and result.value == expected
    assert f"transformers {known.cls} default" in result.source and not assumed_window(result.source)


def test_every_class_default_names_its_file_and_line() -> None:
    assert TRANSFORMERS_SOURCE.startswith("transformers v")
    for model_type, known in CONFIG_CLASS_DEFAULTS.items():
        assert re.fullmatch(r"[a-z0-9_]+/configuration_[a-z0-9_]+\.py:\d+", known.source), model_type
        assert known.key in ("max_position_embeddings", "n_positions", "max_seq_len"), model_type
        assert 0 < known.value < 10_000_000, model_type


@pytest.mark.parametrize(
    "config",
    [
        {"model_type": "bloom", "n_layer": 24},  # BloomConfig has no length attribute (ALiBi)
        {"model_type": "internlm2"},  # remote code: not a transformers class
        {"model_type": "llama", "max_position_embeddings": None},  # an explicit null
        {"model_type": "brand_new", "text_config": {"model_type": "brand_new_text"}},
    ],
)
def test_nothing_declares_a_length_gives_vllms_assumed_window_with_a_warning(config: dict[str, Any]) -> None:
    facts = derive_facts(HubFiles(config=config))
    assert facts.context_length is not None and facts.context_length.value == VLLM_DEFAULT_MAX_LEN == 2048
    assert assumed_window(facts.context_length.source)
    assert len(facts.warnings) == 1
    assert (
        "vLLM's assumed default" in facts.warnings[0] and "context_length in the catalog" in facts.warnings[0]
    )


def test_assumed_window_still_takes_the_rope_scaling_and_broken_values_are_still_refused() -> None:
    scaled = derive_context_length({"model_type": "bloom", "rope_scaling": {"type": "linear", "factor": 4}})
    assert scaled is not None and scaled.value == 8192 and assumed_window(scaled.source)
    assert derive_context_length({"model_type": "bloom", "seq_length": "2048"}) is None
    declared = derive_facts(HubFiles(config={"model_type": "bloom", "seq_length": 2048}))
    assert declared.warnings == () and not assumed_window(
        declared.context_length.source if declared.context_length else None
    )
    # a sentence-transformers window replaces the assumed one: no warning
    st = derive_facts(HubFiles(config={"model_type": "bloom"}, sentence_bert_config={"max_seq_length": 256}))
    assert st.context_length is not None and st.context_length.value == 256 and st.warnings == ()
