"""Issue 13's faulted sync: 8 catalog repos, each at a new commit and under one fault on every request.

Shared by ``tests/test_faulted_sync.py`` (correctness) and ``bench/faults_bench.py`` (wall time at the
defaults). The repos are copies of the real fixture repos under ``mirror/repos/``; the faults are injected
by the mirror's control API or, for faults that live in a repo (gated, a rename, a non-numeric length), by
editing the copy as a Hub commit would (fault injection, not fixtures).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

MIRROR_REPOS = Path(__file__).resolve().parent.parent / "mirror" / "repos"
RENAMED_TO = "CohereLabs/c4ai-command-r-v01"

#: model id -> (catalog repo, what goes wrong in the second sync)
MODELS: dict[str, tuple[str, str]] = {
    "m5xx": ("Qwen/Qwen3.5-9B", "5xx"),
    "m429": ("google/gemma-2-9b-it", "429 twice then fine"),
    "m404": ("microsoft/phi-4", "404"),
    "mgated": ("mistralai/Mistral-7B-Instruct-v0.3", "gated"),
    "mtrunc": ("meta-llama/Llama-3.1-8B-Instruct", "a truncated config.json"),
    "mhang": ("openai-community/gpt2", "every request hanging"),
    "mlength": ("Qwen/Qwen2.5-7B", "a non-numeric length"),
    "mrename": ("CohereForAI/c4ai-command-r-v01", "a rename"),
}

#: the mirror's fault table for the second sync (every request of that repo, unless ``times``)
MIRROR_FAULTS: dict[str, dict[str, Any]] = {
    "Qwen/Qwen3.5-9B": {"mode": "status", "status": 503},
    "google/gemma-2-9b-it": {"mode": "rate_limit", "seconds": 1, "times": 2},
    "microsoft/phi-4": {"mode": "status", "status": 404, "error_code": "RepoNotFound"},
    "meta-llama/Llama-3.1-8B-Instruct": {"mode": "truncate", "kinds": ["resolve"]},
    "openai-community/gpt2": {"mode": "hang", "seconds": 3600},
}

#: what each model's outcome is after the faulted sync: (status, error kind)
EXPECTED: dict[str, tuple[str, str | None]] = {
    "m5xx": ("failed", "transient"),
    "m429": ("synced", None),
    "m404": ("failed", "not_found"),
    "mgated": ("failed", "gated_no_access"),
    "mtrunc": ("failed", "transient"),
    "mhang": ("failed", "transient"),
    "mlength": ("failed", "bad_data"),
    "mrename": ("synced", None),
}


def catalog_text() -> str:
    text = '[defaults]\ndatacenters = ["JP"]\nmax_output_length = 1024\n'
    for model_id, (repo, _) in MODELS.items():
        text += (
            f'\n[[models]]\nid = "{model_id}"\nhugging_face_id = "{repo}"\n'
            f'openrouter = {{ slug = "{repo.lower()}" }}\n'
            'pricing = { prompt = "0.1", completion = "0.2" }\n'
        )
    return text


def build(root: Path) -> Path:
    """Copy the 8 fixture repos under ``root`` (without their SOURCE.md notes); returns ``root``."""
    for repo, _ in MODELS.values():
        shutil.copytree(MIRROR_REPOS / repo, root / repo, ignore=shutil.ignore_patterns("SOURCE.md"))
    return root


def _meta(root: Path, repo: str, **values: object) -> None:
    path = root / repo / "_repo.json"
    meta: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(meta | values))


def break_everything(root: Path, hub: Any) -> None:
    """A new commit on every repo, then one fault per repo (the repo edits and the mirror's fault table)."""
    for repo, _ in MODELS.values():
        (root / repo / "README.md").write_text("a new commit\n")
    _meta(root, "mistralai/Mistral-7B-Instruct-v0.3", gated="manual")
    config = root / "Qwen/Qwen2.5-7B/config.json"
    data = json.loads(config.read_text())
    data["max_position_embeddings"] = "131072 tokens"
    config.write_text(json.dumps(data, indent=2))
    old = "CohereForAI/c4ai-command-r-v01"
    (root / RENAMED_TO).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(root / old, root / RENAMED_TO)
    _meta(root, RENAMED_TO, renamed_from=[old])
    hub.reset()
    hub.set_faults(MIRROR_FAULTS)


def logged_requests(hub: Any) -> dict[str, int]:
    """The mirror's request log by kind: every attempt that reached it, the library's hidden ones included."""
    counts: dict[str, int] = {}
    for entry in hub.requests():
        counts[str(entry["kind"])] = counts.get(str(entry["kind"]), 0) + 1
    return counts
