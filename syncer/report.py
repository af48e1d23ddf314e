"""Everything a person or a log shipper reads: tables, the progress bar, log formatting.

Only the CLI calls these; library code returns data (SyncReport) and never prints.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from syncer.sync import FAILED, UNRESOLVED, ModelOutcome, SyncReport

log = logging.getLogger("syncer")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


STATUS_WORDS = {
    "synced": "ok",
    "unchanged": "ok (unchanged)",
    "failed": "FAILED, kept last good facts",
    "unresolved": "FAILED, never resolved: not listed",
    "skipped": "not looked up this run (--only or stopped)",
    "dropped": "DROPPED: gone from the Hub too long",
}


ERROR_WORDS = {"gated_no_access": "gated: no access", "not_found": "not found"}
WARNING_KINDS = (
    ("renamed on the Hub", "renamed"),
    ("catalog claims", "claim_contradicted"),
    ("DROPPED", "dropped"),
)


def _warning_kind(text: str) -> str:
    return next((kind for prefix, kind in WARNING_KINDS if text.startswith(prefix)), "other")


def warning_rows(report: SyncReport) -> list[dict[str, str]]:
    """Every warning of a run, one row each: house claims the chat template contradicts, renamed repos,
    gated repos our token cannot read (distinct from "not found"), and the like. For the table and --json."""
    rows = [
        {"model": o.model_id, "kind": _warning_kind(w), "warning": w}
        for o in report.outcomes
        for w in o.warnings
    ]
    for o in report.outcomes:
        if o.error_kind == "gated_no_access":
            rows.append(
                {
                    "model": o.model_id,
                    "kind": "gated",
                    "warning": f"gated: no access to {o.repo}; accept its terms on the Hub with the account of HF_TOKEN",
                }
            )
    return rows


def summary(report: SyncReport) -> str:
    rows = [
        (
            o.model_id,
            o.context_length if o.context_length is not None else "-",
            ",".join(o.input_modalities) or "-",
            "yes" if o.listed else "no",
            STATUS_WORDS.get(o.status, o.status)
            + (f": {ERROR_WORDS.get(o.error_kind, o.error_kind)}" if o.error_kind else ""),
        )
        for o in report.outcomes
    ]
    parts = [table(("model", "context", "input modalities", "openrouter", "status"), rows)]
    problems = [o for o in report.outcomes if o.status in (FAILED, UNRESOLVED)]
    if problems:
        parts.append("\nerrors:")
        parts += [f"  {o.model_id}: {o.error}" for o in problems]
    warnings = [(w["model"], w["kind"], w["warning"]) for w in warning_rows(report)]
    if warnings:
        parts.append("\nwarnings:\n" + table(("model", "kind", "warning"), warnings))
    requests = ", ".join(f"{k} {v}" for k, v in sorted(report.requests.items())) or "none"
    counts = (
        f"{report.count('synced')} synced, {report.count('unchanged')} unchanged, {len(report.failed)} failed"
        f" of {len(report.outcomes)} models; Hub requests: {requests}"
    )
    parts.append("\n" + counts)
    if report.message:
        parts.append(f"note: {report.message}")
    if report.held:
        parts.append("\nPUBLISH HELD by the guard; the published snapshots stay as they were:")
        parts += [f"  - {reason}" for reason in report.held_reasons]
        parts.append("  review with `syncer snapshot diff`, then publish with `syncer sync now --approve`")
    for name, changed in report.changed.items():
        path = report.snapshot_dir / f"{name}.json"
        parts.append(f"{'wrote' if changed else 'unchanged'}: {path}")
    return "\n".join(parts)


class Progress:
    """A one-line progress bar on a terminal; one log line per model otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.failures = 0

    def __call__(self, outcome: ModelOutcome, done: int, total: int) -> None:
        if outcome.status in (FAILED, UNRESOLVED):
            self.failures += 1
        if self.tty:
            width = 30
            filled = int(width * done / max(total, 1))
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} models, {self.failures} failed"
            )
            if done == total:
                self.stream.write("\n")
            self.stream.flush()
        else:
            level = logging.WARNING if outcome.status in (FAILED, UNRESOLVED) else logging.INFO
            log.log(
                level,
                "model %s: %s",
                outcome.model_id,
                outcome.status,
                extra={
                    "model_id": outcome.model_id,
                    "status": outcome.status,
                    "commit": outcome.commit,
                    "context_length": outcome.context_length,
                    "error_kind": outcome.error_kind,
                    "error": outcome.error,
                    "progress": f"{done}/{total}",
                },
            )


EXTRA_FIELDS = ("model_id", "status", "commit", "context_length", "error_kind", "error", "progress")


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
        return text


def configure_logging(fmt: str, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("syncer")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
