"""``make demo`` / ``syncer demo``: the main job, offline, against the bundled local Hub mirror.

In a checkout the demo serves ``mirror/repos`` and syncs ``config/catalog.toml``; an installed wheel ships
both as package data (``syncer/_demo/``) and the demo uses those. ``SYNCER_CATALOG`` still wins.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from syncer_mirror import HubMirror

PACKAGE = Path(__file__).resolve().parent.parent
PROJECT_ROOT = PACKAGE.parent


def demo_files() -> tuple[Path, Path]:
    """The mirror's repo folder and the example catalog: the checkout's, else the wheel's copies."""
    if (PACKAGE / "_demo" / "repos").is_dir():
        return PACKAGE / "_demo" / "repos", PACKAGE / "_demo" / "catalog.toml"
    return PROJECT_ROOT / "mirror" / "repos", PROJECT_ROOT / "config" / "catalog.toml"


MIRROR_ROOT, DEMO_CATALOG = demo_files()


def run_demo() -> int:
    from syncer.cli.present import Progress, summary
    from syncer.logs import configure_logging
    from syncer.settings import load_settings
    from syncer.states import Trigger
    from syncer.sync import run_sync

    with HubMirror(MIRROR_ROOT).start() as mirror:
        print(f"local Hub mirror serving {MIRROR_ROOT} at {mirror.url}")
        overrides: dict[str, object] = {
            "hf_endpoint": mirror.url,
            # The demo keeps its own Hub cache so it never mixes with a real one.
            "hf_hub_cache": Path(os.environ.get("SYNCER_DEMO_HF_CACHE", "var/hf-cache")),
        }
        if "SYNCER_CATALOG" not in os.environ:
            overrides["catalog"] = DEMO_CATALOG
        settings = load_settings(**overrides)
        configure_logging(settings.log_format)
        print(f"syncing {settings.catalog} into {settings.database_url}\n")
        progress = Progress()
        report = run_sync(
            settings=settings, trigger=Trigger.MANUAL, progress=progress, on_lookup=progress.lookup
        )
    print(summary(report))
    print("\nsnapshots:")
    print(f"  OpenRouter view: {settings.snapshot_dir / 'openrouter.json'}")
    print(f"  OpenRouter 2.4:  {settings.snapshot_dir / 'openrouter-v2.json'}")
    print(f"  catalog view:    {settings.snapshot_dir / 'catalog.json'}")
    print("\nnext: `syncer mirror " + str(MIRROR_ROOT) + "` in another terminal, then")
    print("      `export HF_ENDPOINT=http://127.0.0.1:8090` and `syncer sync now` stay offline too")
    sys.stdout.flush()
    return report.exit_code
