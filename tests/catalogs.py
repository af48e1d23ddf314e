"""Small house catalogs the integration tests write (the example catalog lives in config/catalog.toml)."""

from __future__ import annotations

from collections.abc import Mapping

QWEN, GEMMA, PHI = "Qwen/Qwen3.5-9B", "google/gemma-2-9b-it", "microsoft/phi-4"
TWO_MODELS = {"qwen": QWEN, "gemma": GEMMA}


def catalog_toml(
    models: Mapping[str, str], *, prompt: Mapping[str, str] | str = "0.1", extra: str = ""
) -> str:
    """One OpenRouter-flagged model per ``id -> repo``; slug = the repo id lower-cased; prompt price per id."""
    text = '[defaults]\ndatacenters = ["JP"]\nmax_output_length = 4096\n'
    for model_id, repo in models.items():
        price = prompt if isinstance(prompt, str) else prompt.get(model_id, "0.1")
        text += (
            f'\n[[models]]\nid = "{model_id}"\nhugging_face_id = "{repo}"{extra and chr(10) + extra}\n'
            f'openrouter = {{ slug = "{repo.lower()}" }}\n'
            f'pricing = {{ prompt = "{price}", completion = "0.2" }}\n'
        )
    return text
