"""Everything a person reads: tables, run summaries, the progress bar, and the text of each command.

Only the CLI calls these; library code returns data (reports, dicts) and never prints.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from syncer.states import ModelStatus

if TYPE_CHECKING:
    from syncer.merge import ModelOutcome
    from syncer.resolve import Lookup
    from syncer.sync import SyncReport

FAILED, UNRESOLVED = ModelStatus.FAILED, ModelStatus.UNRESOLVED

log = logging.getLogger("syncer")


COLUMNS = 120  # what `explain` and `runs` fit; `--json` keeps every value whole


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    max_width: int | None = None,
    shrink: Sequence[int] = (),
) -> str:
    """Columns two spaces apart. With ``max_width``, the ``shrink`` columns are narrowed in that order
    (each down to 16 characters before the next) until each line fits, their values cut with an ellipsis."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if max_width is not None and shrink:
        for column in shrink:
            excess = sum(widths) + 2 * (len(widths) - 1) - max_width
            floor = max(len(headers[column]), 16)
            if excess > 0 and widths[column] > floor:
                widths[column] -= min(excess, widths[column] - floor)
        cells = [[cut(c, widths[i]) for i, c in enumerate(row)] for row in cells]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


STATUS_WORDS = {
    ModelStatus.SYNCED: "ok",
    ModelStatus.UNCHANGED: "ok (unchanged)",
    ModelStatus.FAILED: "FAILED, kept last good facts",
    ModelStatus.UNRESOLVED: "FAILED, never resolved: not listed",
    ModelStatus.SKIPPED: "not looked up this run (--only or stopped)",
    ModelStatus.DROPPED: "DROPPED: gone from the Hub too long",
}


ERROR_WORDS = {"gated_no_access": "gated: no access", "not_found": "not found"}
WARNING_KINDS = (
    ("renamed on the Hub", "renamed"),
    ("catalog claims", "claim_contradicted"),
    ("DROPPED", "dropped"),
    # derive.assumed_window_warning: no length declared, vLLM's assumed window is listed
    ("context_length", "assumed_window"),
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
    """What a run shows while it goes, on stderr.

    On a terminal: one bar that advances as each Hub lookup finishes (models resolved of total, failures so
    far, Hub requests used). Otherwise: one log line per model as its lookup finishes (each with its own
    timestamp), then one per model outcome at merge time. Pass :meth:`lookup` as ``on_lookup`` and the
    object itself as ``progress``.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.failures = 0

    def lookup(self, event: Lookup) -> None:
        if self.tty:
            filled = int(self.WIDTH * event.done / max(event.total, 1))
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {event.done}/{event.total} models resolved, "
                f"{event.failures} failed, {event.hub_requests} Hub requests"
            )
            if event.done == event.total:
                self.stream.write("\n")
            self.stream.flush()
            return
        failed = event.error_kind is not None
        log.log(
            logging.WARNING if failed else logging.INFO,
            "hub %s (%s): %s [%d/%d, %d failed, %d Hub requests]",
            event.model_id,
            event.repo,
            f"lookup failed ({event.error_kind})" if failed else f"resolved at {(event.commit or '')[:12]}",
            event.done,
            event.total,
            event.failures,
            event.hub_requests,
            extra={
                "model_id": event.model_id,
                "status": "lookup_failed" if failed else "resolved",
                "commit": event.commit,
                "error_kind": event.error_kind,
                "error": event.error,
                "progress": f"{event.done}/{event.total}",
                "hub_requests": event.hub_requests,
            },
        )

    def __call__(self, outcome: ModelOutcome, done: int, total: int) -> None:
        if outcome.status in (FAILED, UNRESOLVED):
            self.failures += 1
        if self.tty:
            return  # the bar moved with the lookups; the summary table follows
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


def format_runs(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs yet"
    rows = [
        (
            r["id"],
            r["started_at"][:19].replace("T", " "),
            _duration(r),
            r["trigger"],
            f"{r['host']}:{r['pid']}",
            r["outcome"],
            r["synced"],
            r["unchanged"],
            r["failed"],
            ", ".join(sorted(r["errors"])),
        )
        for r in runs
    ]
    return table(("run", "started (UTC)", "took", "trigger", "host:pid", "outcome", "synced", "unchanged",
                  "failed", "failing models"), rows, max_width=COLUMNS, shrink=(4, 9))  # fmt: skip


def _duration(run: dict[str, Any]) -> str:
    if not run["finished_at"]:
        return "-"
    took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    return f"{took.total_seconds():.1f}s"


def format_status(status: dict[str, Any]) -> str:
    lines = [f"status: {'OK' if status['healthy'] else 'STALE'}"]
    lines += [f"  problem: {p}" for p in status["problems"]]
    success = status["last_success"]
    if success:
        lines.append(
            f"last successful run: #{success['id']} finished {success['finished_at'][:19].replace('T', ' ')} UTC"
            f" ({_age(success['age_seconds'])} ago, {success['outcome']}, {success['trigger']} on {success['host']}): "
            f"{success['synced']} synced, {success['unchanged']} unchanged, {success['failed']} failed"
        )  # fmt: skip
    else:
        lines.append("last successful run: never")
    last = status["last_run"]
    if last and (not success or last["id"] != success["id"]):
        lines.append(
            f"last run: #{last['id']} {last['outcome']} ({last['trigger']} on {last['host']}, pid {last['pid']})"
            + (f": {last['message'].splitlines()[0]}" if last["message"] else "")
        )
    if status["running"] is not None:
        from syncer.store.lock import describe_holder

        lines.append(f"running now: {describe_holder(status['running'] or None)}")
    for name, info in status["snapshots"].items():
        if info["exists"]:
            lines.append(f"snapshot {name}: written {_age(info['age_seconds'])} ago ({info['path']})")
        else:
            lines.append(f"snapshot {name}: missing ({info['path']})")
    failing = status["failing_models"]
    if failing:
        lines.append(f"\n{len(failing)} model(s) failing:")
        rows = [
            (
                f["model_id"],
                f["kind"] or "-",
                f["consecutive_failures"],
                "never resolved" if f["never_resolved"] else (f["last_good_fetch_at"] or "-")[:19].replace("T", " "),
                (f["error"] or "").splitlines()[0][:80] if f["error"] else "",
            )
            for f in failing
        ]  # fmt: skip
        lines.append(table(("model", "kind", "failures in a row", "last good facts (UTC)", "error"), rows))
    else:
        lines.append("models failing: none")
    return "\n".join(lines)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _parameter(p: Mapping[str, Any]) -> str:
    text = f"{p.get('name')}:{p.get('type')}"
    if "min" in p or "max" in p:
        text += f" {p.get('min', '')}..{p.get('max', '')}"
    if "default" in p:
        text += f" ={_short(p['default'])}"
    if "options" in p:
        text += f" [{'|'.join(str(o) for o in p['options'])}]"
    return text


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        if set(value) == {"amount", "unit"}:
            return f"{value['amount']} {value['unit']}"
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        if value and all(isinstance(v, dict) and "name" in v and "type" in v for v in value):
            return "; ".join(_parameter(v) for v in value)
        return ",".join(_short(v) for v in value)
    return str(value)


VALUE_WIDTH = 60


def _clip(text: str) -> str:
    return cut(text, VALUE_WIDTH)


def format_explanation(explanation: dict[str, Any]) -> str:
    head = f"{explanation['model_id']}  status: {explanation['status']}"
    if explanation["repo"]:
        head += f"  repo: {explanation['repo']} @ {(explanation['commit'] or '?')[:7]}"
        if explanation["requested_repo"] and explanation["requested_repo"] != explanation["repo"]:
            head += f" (renamed; the catalog says {explanation['requested_repo']})"
        if explanation["revision"]:
            head += f"  pinned revision: {explanation['revision']}"
    if not explanation["in_openrouter_view"]:
        head += "  (not in the OpenRouter view: catalog view only)"
    rows = [(f["field"], f["view"], _clip(_short(f["value"])), f["source"]) for f in explanation["fields"]]
    body = table(("field", "view", "value", "source"), rows, max_width=COLUMNS, shrink=(2, 3))
    text = cut(head, COLUMNS) + "\n" + body
    if (
        "…" in body
        or "…" in text
        or any(len(_short(f["value"])) > VALUE_WIDTH for f in explanation["fields"])
    ):
        text += "\n(long values are cut with …; `syncer explain ID --json` has them whole)"
    if explanation["warnings"]:
        text += "\nwarnings:\n" + "\n".join(f"  - {w}" for w in explanation["warnings"])
    if explanation["last_error"]:
        kind = explanation["last_error_kind"]
        word = "gated: no access" if kind == "gated_no_access" else kind
        text += f"\nlast Hub error ({word}): {explanation['last_error']}"
    return text


def format_diff(result: Mapping[str, Any]) -> str:
    if result["state"] == "none" or not (result["diff"] or result.get("catalog_diff")):
        return "nothing published yet"
    head = (
        f"PENDING (held by the guard, snapshot {result['snapshot_id']}):"
        if result["state"] == "pending"
        else f"last publish (snapshot {result['snapshot_id']}) changed:"
    )
    lines = [head]
    lines += [f"  reason: {r}" for r in result.get("reasons", []) if r]
    if result["diff"]:
        lines += _diff_lines(result["diff"])
    catalog_diff = result.get("catalog_diff")
    if catalog_diff and (catalog_diff["added"] or catalog_diff["removed"] or catalog_diff["changed"]):
        lines.append("catalog view (catalog.json):")
        lines += _diff_lines(catalog_diff)
    v2_diff = result.get("openrouter_v2_diff")
    if v2_diff and v2_diff["changed"]:
        lines.append("prices only the 2.4 document lists (openrouter-v2.json):")
        lines.append(table(("model", "price", "old", "new"),
                           [(c["model_id"], c["field"], c["old"], c["new"]) for c in v2_diff["changed"]]))  # fmt: skip
    if result["state"] == "pending":
        lines.append("publish exactly this with `syncer sync now --approve`; a run that produces anything else "
                     "is held again")  # fmt: skip
    return "\n".join(lines)


def _diff_lines(diff: Mapping[str, Any]) -> list[str]:
    lines = [f"  added: {', '.join(diff['added']) or '-'}", f"  removed: {', '.join(diff['removed']) or '-'}"]
    if diff["changed"]:
        rows = [(c["model_id"], c["field"], c["old"], c["new"]) for c in diff["changed"]]
        lines.append(table(("model", "field", "old", "new"), rows))
    else:
        lines.append("  no field changed")
    return lines


def format_snapshots(rows: Sequence[Mapping[str, Any]]) -> str:
    return table(("id", "file", "status", "published (UTC)", "sha256", "run", "note"),
                 [(r["id"], r["name"], r["status"], r["published_at"][:19], r["sha256"][:12], r["run_id"],
                   (r["note"] or "")[:50]) for r in rows])  # fmt: skip
