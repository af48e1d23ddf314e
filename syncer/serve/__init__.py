"""The serve room: the read-only models API over the snapshot files (starlette under uvicorn).

It reads files only: no database, no Hub, no pipeline (an import test holds it to that), so a worker
starts fast and keeps answering whatever happens to the sync.
"""

from __future__ import annotations

from syncer.serve.app import ServerThread, accepts_gzip, create_app, etag_matches, serve

__all__ = ["ServerThread", "accepts_gzip", "create_app", "etag_matches", "serve"]
