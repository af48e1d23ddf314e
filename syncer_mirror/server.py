"""The mirror's HTTP side: ``HubMirror`` (a threaded stdlib HTTP server over a repo folder) and ``serve``.

Routing lives in ``syncer_mirror.routes``, the repo store in ``syncer_mirror.repos`` and the test-only control
API (request log, reset, fault injection) in ``syncer_mirror.faults``; that API is off unless the mirror is
started with ``control=True``.

Hardening for a mirror that faces a network: request bodies (the Hub API takes none) are read and dropped in
chunks up to ``max_body`` bytes, and a connection announcing more, or a chunked body, is closed after its answer;
a connection idle (or sending its request) for ``idle_timeout`` seconds is closed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Collection, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from syncer_mirror.faults import Control, Fault, faulted_response
from syncer_mirror.repos import RepoStore
from syncer_mirror.routes import MAX_PAGE_SIZE, Request, Response, Router

__all__ = ["DEFAULT_IDLE_TIMEOUT", "DEFAULT_MAX_BODY", "HubMirror", "serve"]

DEFAULT_IDLE_TIMEOUT = (
    5.0  # seconds a connection may sit idle (or take to send its request) before it is closed
)
DEFAULT_MAX_BODY = 1 << 20  # bytes of a request body read (and dropped, or kept for a control call)
_DRAIN_CHUNK = 64 * 1024
_LINGER_SECONDS = 1.0  # after answering a connection that is being closed, unread input is drained this long


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a client opening 16 connections at once would see the
    # kernel drop SYNs past the fifth and retry them a second later, a delay no real Hub adds.
    request_queue_size = 128
    mirror: HubMirror

    def __init__(self, address: tuple[str, int], mirror: HubMirror) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.mirror = mirror
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        """Drop every open (keep-alive) connection, so a stopped mirror really stops answering."""
        with self.connections_lock:
            conns, self.connections = list(self.connections), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class HubMirror:
    """A Hub-compatible server over ``root`` (see ``syncer_mirror``); a context manager.

    ``control=True`` turns on the control API (``requests()``, ``reset()``, ``set_faults()``, ``faults()`` and
    ``/_mirror/*`` over HTTP): test tooling, never for a mirror others can reach.
    """

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        tokens: Collection[str] = (),
        page_size: int = MAX_PAGE_SIZE,
        control: bool = False,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.root = Path(root)
        self.host = host
        self.port = port
        self.latency = float(latency)
        self.tokens = frozenset(tokens)
        self.store = RepoStore(self.root)
        self.router = Router(self.store, page_size=page_size)
        self.page_size = self.router.page_size
        self.control = bool(control)
        self.idle_timeout = None if idle_timeout is None or idle_timeout <= 0 else float(idle_timeout)
        self.max_body = max(0, int(max_body))
        self._control = Control() if control else None
        self._stopping = threading.Event()
        self._route_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def bind(self) -> HubMirror:
        """Bind the listening socket (so ``url`` is known) without serving yet."""
        if self._server is None:
            self._stopping.clear()
            server = _Server((self.host, self.port), self)
            self._server = server
            host, port = server.server_address[:2]
            host = host.decode() if isinstance(host, bytes) else host
            self._url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        return self

    def start(self) -> HubMirror:
        self.bind()
        if self._thread is None:
            server = self._server
            assert server is not None
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="hub-mirror", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` is called from another thread."""
        self.bind()
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers stuck in "hang" / latency sleeps
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            if thread is not None:
                server.shutdown()
                thread.join(timeout=5)
            server.server_close()
            server.close_connections()

    def __enter__(self) -> HubMirror:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL (still answered after ``stop()``, so tests can point clients at a dead mirror)."""
        if self._url is None:
            raise RuntimeError("mirror is not started")
        return self._url

    # -- control (test tooling; see syncer_mirror.faults) ------------------------------------------

    def _need_control(self) -> Control:
        if self._control is None:
            raise RuntimeError("the mirror's control API is off: start it with HubMirror(..., control=True)")
        return self._control

    def requests(self) -> list[dict[str, object]]:
        """Every request served since the last reset (control requests excluded), oldest first."""
        return self._need_control().requests()

    def reset(self) -> None:
        """Clear the request log and all faults."""
        self._need_control().reset()

    def set_faults(self, faults: Mapping[str, Mapping[str, object]]) -> None:
        """Replace all faults. Keys are ``"<org>/<name>"`` or ``"*"``; see ``syncer_mirror.faults``."""
        self._need_control().set_faults(faults)

    def faults(self) -> dict[str, dict[str, object]]:
        return self._need_control().faults()

    # -- serving -----------------------------------------------------------------------------------

    def route(self, req: Request) -> Response:
        return self.router.route(req)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization or not self.tokens:
            return False
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.tokens


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "syncer-hub-mirror/1"
    sys_version = ""
    server: _Server
    _linger = False  # unread input left when the connection closes: drain it so the answer is not reset

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()
        if self._linger:
            self._drain()

    def handle_one_request(self) -> None:
        # Reading the request line and headers is bounded by the idle timeout (the stdlib closes the
        # connection on TimeoutError); writing the answer is not (a slow reader of a body is no idle client).
        with contextlib.suppress(OSError):
            self.connection.settimeout(self.server.mirror.idle_timeout)
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's per-request stderr line; the mirror keeps its own log."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing ----------------------------------------------------------------------------------

    def _read_body(self, *, keep: bool) -> bytes:
        """The request body if ``keep`` (a control call), else read and dropped in chunks.

        A body larger than ``max_body``, or chunked, is not read: the connection is closed after the answer.
        """
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._linger = True
            return b""
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            return b""
        if n <= 0:
            return b""
        if n > self.server.mirror.max_body:
            self.close_connection = True
            self._linger = True
            return b""
        if keep:
            return self.rfile.read(n)
        while n > 0:
            chunk = self.rfile.read(min(n, _DRAIN_CHUNK))
            if not chunk:
                self.close_connection = True
                break
            n -= len(chunk)
        return b""

    def _drain(self) -> None:
        """Half-close, then drop what the client still sends for a moment, so the answer is not lost to a reset.

        (Closing a socket with unread input makes the kernel send RST, which can discard the answer in flight.)
        """
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(_LINGER_SECONDS)
            left = self.server.mirror.max_body
            while left > 0 and not self.server.mirror._stopping.is_set():
                data = self.connection.recv(_DRAIN_CHUNK)
                if not data:
                    break
                left -= len(data)

    def _dispatch(self) -> None:
        mirror = self.server.mirror
        split = urlsplit(self.path)
        raw_path = split.path or "/"
        is_control = mirror._control is not None and (
            raw_path.startswith("/_mirror/") or raw_path == "/_mirror"
        )
        try:
            body = self._read_body(keep=is_control)
            self.connection.settimeout(None)
            if is_control:
                assert mirror._control is not None
                what = raw_path[len("/_mirror/") :].strip("/")
                self._write(mirror._control.answer(self.command, what, body))
                return
            req = self._make_request(raw_path, split.query)
            self._serve(mirror, req)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _make_request(self, raw_path: str, query: str) -> Request:
        parts = raw_path.split("/")[1:]
        kind = "other"
        repo_id: str | None = None
        if parts and parts[0] == "api":
            kind = "api"
            if len(parts) >= 4 and parts[1] == "models":
                repo_id = f"{unquote(parts[2])}/{unquote(parts[3])}"
        elif len(parts) >= 5 and parts[2] == "resolve":
            kind = "resolve"
            repo_id = f"{unquote(parts[0])}/{unquote(parts[1])}"
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return Request(
            method=self.command,
            path=raw_path,
            query=query,
            kind=kind,
            repo_id=repo_id,
            params=parse_qsl(query, keep_blank_values=True),
            authorized=self.server.mirror._authorized(self.headers.get("Authorization")),
            host=host,
            range=self.headers.get("Range"),
        )

    def _serve(self, mirror: HubMirror, req: Request) -> None:
        # The log entry is written before the answer, so a client that has its answer always finds it logged.
        mirror._sleep(mirror.latency)
        control = mirror._control
        record = control.record if control is not None else _no_record
        fault = control.take_fault(req) if control is not None else None
        if fault is not None and fault.mode == "hang":
            # Logged on arrival (status 0: no answer yet), so a client that gave up waiting finds its attempt.
            record(req, 0)
            record = _no_record
            mirror._sleep(fault.seconds)
            if mirror._stopping.is_set():
                self.close_connection = True
                return
            fault = None
        if fault is not None and fault.mode == "reset":
            record(req, 0)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        response = faulted_response(req, fault) if fault is not None else None
        if response is None:
            try:
                # One answer computed at a time (the latency above is slept concurrently): sixteen threads
                # stat-ing repo files at once make CPython hand the GIL back and forth on every syscall, which
                # cost the mirror five times the CPU of the same answers one after another.
                with mirror._route_lock:
                    response = mirror.route(req)
            except Exception as e:  # a bug or an unreadable file must not kill the connection silently
                traceback.print_exc(file=sys.stderr)
                response = Response.error(500, f"Internal error: {type(e).__name__}")
        record(req, response.status)
        if fault is not None and fault.mode in ("slow_body", "truncate"):
            self._write(response, head=req.method == "HEAD", fault=fault)
        else:
            self._write(response, head=req.method == "HEAD")

    def _write(self, response: Response, *, head: bool = False, fault: Fault | None = None) -> None:
        body = response.body
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if fault is not None and fault.mode == "truncate" and not head and body:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        if head or not body:
            self.wfile.flush()
            return
        if fault is None:
            self.wfile.write(body)
        elif fault.mode == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        else:  # slow_body
            chunk = fault.chunk_size or max(1, -(-len(body) // 8))
            mirror = self.server.mirror
            for i in range(0, len(body), chunk):
                if i:
                    mirror._sleep(fault.delay)
                self.wfile.write(body[i : i + chunk])
                self.wfile.flush()
        self.wfile.flush()


def _no_record(req: Request, status: int) -> None:
    """No request log without the control API."""


def serve(
    root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8090,
    port_file: Path | None = None,
    latency: float = 0.0,
    tokens: Collection[str] = (),
    page_size: int = MAX_PAGE_SIZE,
    control: bool = False,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    max_body: int = DEFAULT_MAX_BODY,
) -> int:
    """Serve ``root`` as a Hub mirror until SIGTERM or SIGINT; the exit status (0, or 2 if root is no folder).

    Prints ``mirror listening on URL`` once listening and, with ``port_file``, writes the URL there (atomically)
    too. ``port=0`` picks a free port. Call it from the main thread (it installs signal handlers, restored on
    return). ``control=True`` turns on the test-only control API (see ``syncer_mirror.faults``).
    """
    root = Path(root)
    if not root.is_dir():
        print(f"error: {root} is not a directory", file=sys.stderr)
        return 2
    mirror = HubMirror(
        root,
        host=host,
        port=port,
        latency=latency,
        tokens=tokens,
        page_size=page_size,
        control=control,
        idle_timeout=idle_timeout,
        max_body=max_body,
    )
    mirror.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if port_file is not None:
            port_file = Path(port_file)
            tmp = port_file.with_name(port_file.name + ".tmp")
            tmp.write_text(mirror.url + "\n")
            os.replace(tmp, port_file)
        print(f"mirror listening on {mirror.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        mirror.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
