"""Test tooling: the mirror's control API (request log, reset, fault injection).

Off unless whoever starts the mirror turns it on (``HubMirror(root, control=True)`` or
``python -m syncer_mirror ROOT --control``); when off, ``/_mirror/*`` answers 404 like any unknown path and
no request log is kept. Over HTTP:

* ``GET /_mirror/requests``: every request served since the last reset (control requests excluded),
* ``POST /_mirror/reset``: clear the log and all faults,
* ``GET /_mirror/faults``, ``PUT``/``POST /_mirror/faults`` with ``{"<org>/<name>" or "*": {...}}``: read or
  replace the faults,
* ``GET /_mirror/health``.

A fault is ``{"mode": ..., ...}`` with one of the modes ``status`` (answer ``status``/``error_code``/``message``),
``hang`` (logged on arrival with status 0, sleep ``seconds``, then answer normally), ``slow_body`` (the body in chunks of ``chunk_size``,
``delay`` seconds apart), ``truncate`` (half the body, then the connection cut), ``not_json`` (an HTML page,
API requests only), ``rate_limit`` (429 with ``RateLimit``/``Retry-After`` of ``seconds``), ``reset`` (the
connection cut without an answer) and ``redirect`` (307 to the same path on repo ``to``). ``times`` bounds how
many requests a fault hits (forever by default); ``kinds`` restricts it to ``api``/``resolve``/``other``
requests. A repo's own fault wins over ``"*"``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import cast

from syncer_mirror.repos import valid_repo_id
from syncer_mirror.routes import Request, Response

__all__ = ["FAULT_MODES", "Control", "Fault"]

FAULT_MODES = frozenset(
    {"status", "hang", "slow_body", "truncate", "not_json", "rate_limit", "reset", "redirect"}
)
KINDS = frozenset({"api", "resolve", "other"})
_LOG_LIMIT = 200_000  # request-log entries kept (oldest dropped first) so a long-running mirror stays bounded


@dataclass
class Fault:
    mode: str
    status: int = 503
    error_code: str | None = None
    message: str | None = None
    times: int | None = None  # None: forever
    seconds: float = 3600.0
    delay: float = 0.5
    chunk_size: int | None = None
    kinds: frozenset[str] | None = None
    to: str | None = None

    @classmethod
    def parse(cls, key: str, spec: Mapping[str, object]) -> Fault:
        mode = spec.get("mode")
        if mode not in FAULT_MODES:
            raise ValueError(f"fault for {key!r}: unknown mode {mode!r} (one of {sorted(FAULT_MODES)})")
        fault = cls(mode=str(mode))
        if mode == "rate_limit":
            fault.status = 429
            fault.seconds = 1.0
        if "status" in spec:
            fault.status = _int(spec["status"], "status", key)
            if not 100 <= fault.status <= 599:
                raise ValueError(f"fault for {key!r}: bad status {fault.status}")
        if spec.get("error_code") is not None:
            fault.error_code = str(spec["error_code"])
        if spec.get("message") is not None:
            fault.message = str(spec["message"])
        if spec.get("times") is not None:
            fault.times = _int(spec["times"], "times", key)
        if spec.get("seconds") is not None:
            fault.seconds = _float(spec["seconds"], "seconds", key)
        if spec.get("delay") is not None:
            fault.delay = _float(spec["delay"], "delay", key)
        if spec.get("chunk_size") is not None:
            fault.chunk_size = max(1, _int(spec["chunk_size"], "chunk_size", key))
        kinds = spec.get("kinds")
        if kinds is not None:
            if isinstance(kinds, str):
                kinds = [kinds]
            if not isinstance(kinds, list | tuple) or not set(kinds) <= KINDS:
                raise ValueError(f"fault for {key!r}: kinds must be a list drawn from {sorted(KINDS)}")
            fault.kinds = frozenset(cast(Collection[str], kinds))
        if mode == "redirect":
            to = spec.get("to")
            if not isinstance(to, str) or not valid_repo_id(to):
                raise ValueError(f"fault for {key!r}: redirect needs 'to': '<org>/<name>'")
            fault.to = to
        return fault

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"mode": self.mode}
        for name in ("status", "error_code", "message", "times", "seconds", "delay", "chunk_size", "to"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.kinds is not None:
            out["kinds"] = sorted(self.kinds)
        return out


def _int(value: object, name: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"fault for {key!r}: {name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"fault for {key!r}: {name} must be an integer") from None


def _float(value: object, name: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"fault for {key!r}: {name} must be a number")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"fault for {key!r}: {name} must be a number") from None


class Control:
    """The request log and the fault table of one mirror (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: deque[dict[str, object]] = deque(maxlen=_LOG_LIMIT)
        self._faults: dict[str, Fault] = {}

    def requests(self) -> list[dict[str, object]]:
        with self._lock:
            return [dict(e) for e in self._log]

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._faults.clear()

    def set_faults(self, faults: Mapping[str, Mapping[str, object]]) -> None:
        parsed: dict[str, Fault] = {}
        for key, spec in faults.items():
            if key != "*" and not valid_repo_id(key):
                raise ValueError(f"fault key must be '<org>/<name>' or '*', not {key!r}")
            if not isinstance(spec, Mapping):
                raise ValueError(f"fault for {key!r} must be an object")
            parsed[key] = Fault.parse(key, spec)
        with self._lock:
            self._faults = parsed

    def faults(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {k: f.describe() for k, f in self._faults.items()}

    def record(self, req: Request, status: int) -> None:
        entry: dict[str, object] = {
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "status": status,
            "kind": req.kind,
        }
        with self._lock:
            self._log.append(entry)

    def take_fault(self, req: Request) -> Fault | None:
        """The fault for this request (a repo's own fault wins over ``"*"``); consumes one use."""
        with self._lock:
            for key in (req.repo_id, "*"):
                if key is None:
                    continue
                fault = self._faults.get(key)
                if fault is None or (fault.kinds is not None and req.kind not in fault.kinds):
                    continue
                if fault.mode == "not_json" and req.kind != "api":
                    continue
                if fault.mode in ("truncate", "slow_body") and req.method == "HEAD":
                    continue  # no body to cut or slow down: leave the use for the GET
                if fault.mode == "redirect" and req.repo_id is None:
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def answer(self, method: str, what: str, body: bytes) -> Response:
        """The answer to a control request ``{method} /_mirror/{what}``."""
        if what == "requests" and method == "GET":
            return Response.json(200, self.requests())
        if what == "reset" and method == "POST":
            self.reset()
            return Response.json(200, {"ok": True})
        if what == "faults" and method == "GET":
            return Response.json(200, self.faults())
        if what == "faults" and method in ("PUT", "POST"):
            try:
                payload = json.loads(body or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError("faults must be a JSON object")
                self.set_faults(payload)
            except ValueError as e:
                return Response.error(400, str(e))
            return Response.json(200, {"ok": True})
        if what == "health" and method == "GET":
            return Response.json(200, {"ok": True})
        return Response.error(404, "Unknown control endpoint")


def faulted_response(req: Request, fault: Fault) -> Response | None:
    """The answer a fault sends instead of the normal one; None when the normal answer is written specially."""
    if fault.mode == "status":
        return Response.error(
            fault.status, fault.message or f"Injected error {fault.status}", fault.error_code
        )
    if fault.mode == "rate_limit":
        seconds = max(0, round(fault.seconds))
        resource = "resolvers" if req.kind == "resolve" else "api"
        return Response.error(
            fault.status,
            fault.message or "You have exceeded our rate limit.",
            fault.error_code,
            {
                "RateLimit": f'"{resource}";r=0;t={seconds}',
                "RateLimit-Policy": f'"fixed window";"{resource}";q=500;w=300',
                "Retry-After": str(seconds),
            },
        )
    if fault.mode == "not_json":
        return Response(
            200,
            {"Content-Type": "text/html; charset=utf-8"},
            b"<!DOCTYPE html><html><body><h1>Welcome to the proxy</h1></body></html>",
        )
    if fault.mode == "redirect" and fault.to is not None and req.repo_id is not None:
        return Response.json(
            307, {"error": f"Redirected to {fault.to}"}, {"Location": req.moved_to(fault.to)}
        )
    return None  # slow_body / truncate: normal response, written specially
