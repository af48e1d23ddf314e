"""A small Hugging Face Hub-compatible HTTP server that serves model repos from a folder.

Used by the tests, the demo and the benchmarks, and as a read-only mirror for air-gapped clusters
(``syncer mirror ROOT``, ``python -m syncer_mirror ROOT`` or ``serve(root, ...)``). Stdlib only. It answers what
``huggingface_hub`` 2.x sends (see ``syncer_mirror.routes``) from ``<root>/<org>/<name>/`` folders (see
``syncer_mirror.repos``). The control API for tests (request log, reset, fault injection; see
``syncer_mirror.faults``) is off unless the mirror is started with ``control=True`` / ``--control``.
"""

from syncer_mirror.repos import DEFAULT_CREATED_AT, git_blob_sha1
from syncer_mirror.routes import MAX_PAGE_SIZE
from syncer_mirror.server import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY, HubMirror, serve

__all__ = [
    "DEFAULT_CREATED_AT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_BODY",
    "MAX_PAGE_SIZE",
    "HubMirror",
    "git_blob_sha1",
    "serve",
]
