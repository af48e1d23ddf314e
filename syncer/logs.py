"""Log formatting for every process of syncer (CLI commands, the scheduler, ``serve`` workers): one line of
text or one JSON object per record (``SYNCER_LOG_FORMAT``). A leaf module: it imports nothing of the app.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

EXTRA_FIELDS = (
    "model_id", "status", "commit", "context_length", "error_kind", "error", "progress", "hub_requests", "run",
)  # fmt: skip


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in EXTRA_FIELDS:
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = (
            f"{datetime.fromtimestamp(record.created, UTC).strftime('%H:%M:%S')} {record.levelname.lower()} "
        )
        text += record.getMessage()
        error = getattr(record, "error", None)
        if error:
            text += f": {error}"
        if record.exc_info and record.exc_info[1] is not None:
            # one line per record: the exception's type and message (JSON logs carry the whole traceback)
            exc = record.exc_info[1]
            detail = " ".join(str(exc).split())
            text += (
                f": {type(exc).__module__}.{type(exc).__qualname__}"
                if type(exc).__module__ not in ("builtins",)
                else f": {type(exc).__qualname__}"
            )
            if detail:
                text += f": {detail}"
        return text


def configure_logging(fmt: str, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("syncer")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
