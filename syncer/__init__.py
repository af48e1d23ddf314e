"""syncer: house model catalog -> Hugging Face Hub -> SQL store -> OpenRouter listing snapshots."""

import os as _os

# huggingface_hub reads HF_* variables once, at import: set our quiet defaults before anything imports it.
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
_os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
_os.environ.setdefault("HF_HUB_DISABLE_IMPLICIT_TOKEN", "0")

__version__ = "0.1.0"
