"""Log lines: a crash names its exception in text logs too."""

from __future__ import annotations

import io
import json
import logging

from syncer.errors import StoreUnavailableError
from syncer.logs import configure_logging


def _crash(fmt: str, exc: BaseException) -> str:
    stream = io.StringIO()
    configure_logging(fmt, stream)
    try:
        raise exc
    except BaseException:
        logging.getLogger("syncer.ops.schedule").exception("scheduled sync crashed; the scheduler carries on")
    return stream.getvalue()


def test_a_text_log_names_the_exception_type_and_message() -> None:
    # Before: "12:00:00 error scheduled sync crashed; the scheduler carries on", and nothing about why.
    line = _crash("text", RuntimeError("database is locked\nretry later"))
    assert line.endswith(
        "error scheduled sync crashed; the scheduler carries on: RuntimeError: database is locked retry later\n"
    )
    assert line.count("\n") == 1  # one line per record
    line = _crash("text", StoreUnavailableError("postgresql://db", "connection refused"))
    assert (
        ": syncer.errors.StoreUnavailableError: cannot use the database SYNCER_DATABASE_URL=postgresql://db"
        in line
    )


def test_a_json_log_keeps_the_traceback() -> None:
    record = json.loads(_crash("json", RuntimeError("boom")))
    assert "RuntimeError: boom" in record["exception"] and "Traceback" in record["exception"]
