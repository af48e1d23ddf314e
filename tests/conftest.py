"""Shared test setup.

huggingface_hub reads every ``HF_*`` variable once, at import time: the environment must be set here, before any
test module imports it, so that tests never talk to the real Hub, never use the developer's token or cache, and
never send telemetry.
"""

from __future__ import annotations

import os
import tempfile

_HF_HOME = tempfile.mkdtemp(prefix="syncer-tests-hf-home-")

for _name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
    os.environ.pop(_name, None)

os.environ.update(
    {
        "HF_HOME": _HF_HOME,  # no stored token, no shared cache
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "HF_HUB_DISABLE_SYMLINKS_WARNING": "1",
        "HF_HUB_OFFLINE": "0",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # anything that forgets endpoint= fails fast instead of reaching the Hub
    }
)
