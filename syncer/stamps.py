"""Code stamps: the version and source of the modules a stage's output depends on.

A run reuses what an earlier run computed (a model's facts, its merged entries) only when the inputs and
the code are unchanged; a stamp is the code's half of that key. An upgrade that edits any stamped module
changes its stamp, so the new code computes everything again on its first run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
from pathlib import Path

import syncer

#: the modules that turn a repo at a commit into facts: what is read and checked, and the derivation
DERIVATION_MODULES = ("syncer.hub._client", "syncer.derive", "syncer.resolve")
#: the modules that turn a catalog model and its facts into validated entries of the three views
MERGE_MODULES = (
    "syncer.catalog",
    "syncer.listing",
    "syncer.listing_v2",
    "syncer.parameters",
    "syncer.merge",
    "syncer.formats.vocabulary",
    "syncer.formats.rules",
    "syncer.formats.openrouter",
    "syncer.formats.openrouter_v2",
    "syncer.formats.catalog_view",
)

#: the modules that turn validated entries into the bytes of the snapshot files
VIEWS_MODULES = (*MERGE_MODULES, "syncer.snapshot", "syncer.publish.publisher")


@functools.cache
def code_stamp(modules: tuple[str, ...]) -> str:
    """sha256 of the package version and the source bytes of ``modules`` (read once per process)."""
    digest = hashlib.sha256(f"syncer {syncer.__version__}\n".encode())
    for name in modules:
        module = importlib.import_module(name)
        source = getattr(module, "__file__", None)
        digest.update(name.encode() + b"\0")
        with contextlib.suppress(OSError):  # no readable source (a frozen build): the version stamps it
            digest.update(Path(source).read_bytes() if source else b"")
    return digest.hexdigest()


def derivation_stamp() -> str:
    return code_stamp(DERIVATION_MODULES)


def merge_stamp() -> str:
    return code_stamp(MERGE_MODULES)


def views_stamp() -> str:
    return code_stamp(VIEWS_MODULES)
