"""``make demo``: the main job, offline, against the bundled local Hub mirror."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from syncer_mirror import HubMirror

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
MIRROR_ROOT = PROJECT_ROOT / "mirror" / "repos"


def run_demo() -> int:
    from syncer.cli.present import Progress, summary
    from syncer.logs import configure_logging
    from syncer.settings import load_settings
    from syncer.states import Trigger
    from syncer.sync import run_sync

    with HubMirror(MIRROR_ROOT).start() as mirror:
        print(f"local Hub mirror serving {MIRROR_ROOT} at {mirror.url}")
        settings = load_settings(
            hf_endpoint=mirror.url,
            # The demo keeps its own Hub cache so it never mixes with a real one.
            hf_hub_cache=Path(os.environ.get("SYNCER_DEMO_HF_CACHE", "var/hf-cache")),
        )
        configure_logging(settings.log_format)
        print(f"syncing {settings.catalog} into {settings.database_url}\n")
        report = run_sync(settings=settings, trigger=Trigger.MANUAL, progress=Progress())
    print(summary(report))
    print("\nsnapshots:")
    print(f"  OpenRouter view: {settings.snapshot_dir / 'openrouter.json'}")
    print(f"  catalog view:    {settings.snapshot_dir / 'catalog.json'}")
    sys.stdout.flush()
    return report.exit_code
