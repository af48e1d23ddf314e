"""The request parameters a model accepts, as the catalog view lists them: pure data and functions.

Each parameter is one object ``{"name", "type", "default"?, "min"?, "max"?, "options"?}``. The house
defaults below follow the serving engine (vLLM's OpenAI-compatible server); the catalog may override any
of them per model (``[models.supported_parameters.temperature] default = 0.6``), add one (with a
``type``) or drop one (``enabled = false``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: house defaults of the sampling parameters (the ``supported_sampling_parameters`` vocabulary)
SAMPLING_PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "temperature": {"type": "number", "default": 1, "min": 0, "max": 2},
    "top_p": {"type": "number", "default": 1, "min": 0, "max": 1},
    "top_k": {"type": "integer", "min": 0},
    "min_p": {"type": "number", "default": 0, "min": 0, "max": 1},
    "top_a": {"type": "number", "default": 0, "min": 0, "max": 1},
    "frequency_penalty": {"type": "number", "default": 0, "min": -2, "max": 2},
    "presence_penalty": {"type": "number", "default": 0, "min": -2, "max": 2},
    "repetition_penalty": {"type": "number", "default": 1, "min": 0, "max": 2},
    "stop": {"type": "array"},
    "seed": {"type": "integer"},
    "max_tokens": {"type": "integer", "min": 1},  # max: the model's max_output_tokens
    "logit_bias": {"type": "object"},
}

#: parameters that come with a feature of ``supported_features``
FEATURE_PARAMETER_SCHEMAS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "tools": [
        ("tools", {"type": "array"}),
        ("tool_choice", {"type": "string", "default": "auto", "options": ["none", "auto", "required"]}),
    ],
    "json_mode": [("response_format", {"type": "object", "options": ["text", "json_object"]})],
    "structured_outputs": [("response_format", {"type": "object", "options": ["text", "json_schema"]})],
    "logprobs": [
        ("logprobs", {"type": "boolean", "default": False}),
        ("top_logprobs", {"type": "integer", "min": 0, "max": 20}),
    ],
}

#: the reasoning controls a catalog may name without a type (override per model in
#: ``[models.supported_parameters]``: add one the template does not show, change its options, or drop it with
#: ``enabled = false``)
REASONING_CONTROL_SCHEMAS: dict[str, dict[str, Any]] = {
    "enable_thinking": {"type": "boolean"},
    "reasoning_effort": {"type": "string", "options": ["low", "medium", "high"]},
}

#: the template hint of a reasoning_effort control: ``reasoning_effort=low|medium|high`` (syncer.derive)
EFFORT_HINT = "reasoning_effort="


def reasoning_controls(template_hints: Iterable[str] | None) -> dict[str, dict[str, Any]]:
    """A reasoning model's control parameters, as its chat template reads them (engines pass them through
    ``chat_template_kwargs``): ``enable_thinking`` (boolean) and/or ``reasoning_effort`` (string, the levels
    the template accepts). None when the template reads neither (it always reasons) or there is no
    template: the catalog may add one with ``[models.supported_parameters]``."""
    controls: dict[str, dict[str, Any]] = {}
    for hint in template_hints or ():
        if hint == "enable_thinking":
            controls["enable_thinking"] = {"type": "boolean"}
        elif hint.startswith(EFFORT_HINT):
            levels = [v for v in hint.removeprefix(EFFORT_HINT).split("|") if v]
            controls["reasoning_effort"] = {"type": "string", "options": levels}
    return controls


STREAM_SCHEMA: dict[str, Any] = {"type": "boolean", "default": False}
KEY_ORDER = ("name", "type", "default", "min", "max", "options")


def _ordered(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    merged = {"name": name, **schema}
    return {k: merged[k] for k in KEY_ORDER if merged.get(k) is not None}


def house_parameters(
    *,
    sampling: Iterable[str],
    features: Iterable[str],
    max_output_tokens: int,
    generates_text: bool,
    controls: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The house's parameter schemas for one model, by name, before catalog overrides. ``controls``: the
    reasoning controls (:func:`reasoning_controls`), listed only when ``features`` has ``reasoning``."""
    result: dict[str, dict[str, Any]] = {}
    names = list(sampling)
    if generates_text and "max_tokens" not in names:
        names.append("max_tokens")
    for name in names:
        schema = dict(SAMPLING_PARAMETER_SCHEMAS[name])
        if name == "max_tokens":
            schema["max"] = max_output_tokens
        result[name] = schema
    for feature in features:
        for name, schema in FEATURE_PARAMETER_SCHEMAS.get(feature, []):
            if name in result and "options" in result[name]:  # json_mode + structured_outputs: one list
                options = result[name]["options"] + [
                    o for o in schema["options"] if o not in result[name]["options"]
                ]
                result[name] = {**result[name], "options": options}
            else:
                result[name] = dict(schema)
    if "reasoning" in features:
        for name, control in (controls or {}).items():
            result[name] = dict(control)
    if generates_text:
        result["stream"] = dict(STREAM_SCHEMA)
    return result


def apply_overrides(
    house: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """House schemas with the catalog's per-parameter overrides applied, as the listed objects.

    An override replaces the keys it sets (``default``, ``min``, ``max``, ``options``, ``type``);
    ``enabled = false`` drops the parameter; a name the house does not list is added (it must give a type).
    """
    result = {name: dict(schema) for name, schema in house.items()}
    for name, override in overrides.items():
        if override.get("enabled") is False:
            result.pop(name, None)
            continue
        changes = {k: v for k, v in override.items() if k != "enabled" and v is not None}
        result[name] = {**result.get(name, REASONING_CONTROL_SCHEMAS.get(name, {})), **changes}
    return [_ordered(name, schema) for name, schema in result.items() if schema.get("type")]
