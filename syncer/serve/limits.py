"""What a client can make `syncer serve` do: bounded request heads, bounded header read time, bounded connections.

uvicorn bounds the number of connections (``limit_concurrency``: a request over the cap gets 503) and the idle
time between two requests of a keep-alive connection (``timeout_keep_alive``), but its httptools protocol
buffers a request head of any size (a 100 MB header was accepted) and waits forever for a head that never ends
(a client that sends half a request holds its connection, and a slot of the connection cap, for good). The
protocol below adds both bounds to uvicorn's httptools protocol, and nothing else:

- **head size**: the bytes of one request line and its headers, counted as they arrive; past
  ``max_header_bytes`` the client gets ``431 Request Header Fields Too Large`` and the connection is closed, so
  at most one read (256 KiB) beyond the cap is ever buffered;
- **head time**: from the moment a connection opens, or the first byte of its next request arrives, the head
  must be complete within ``header_timeout`` seconds; otherwise the client gets ``408 Request Timeout`` and the
  connection is closed.

The limits travel in :class:`BoundedConfig` (a :class:`uvicorn.Config` with one more field), which uvicorn hands
to every protocol instance and pickles into every worker process of ``--workers N``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger("syncer.serve")

DEFAULT_MAX_HEADER_BYTES = 16_384
DEFAULT_HEADER_TIMEOUT = 10.0


class BoundedConfig(Config):
    """uvicorn's Config plus the head read timeout (the head size cap is uvicorn's own
    ``h11_max_incomplete_event_size``, which the httptools protocol otherwise ignores)."""

    def __init__(self, app: Any, *, header_timeout: float = DEFAULT_HEADER_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout


def _close_with(status: bytes, message: bytes) -> bytes:
    return b"".join(
        [
            b"HTTP/1.1 " + status + b"\r\n",
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(message)).encode("ascii") + b"\r\n",
            b"connection: close\r\n",
            b"\r\n",
            message,
        ]
    )


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size cap and a read deadline on every request head."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_header_bytes = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES
        self.header_timeout = float(getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT))
        self._head_bytes = 0  # bytes received since the current head began
        self._in_body = False  # between a head's end and its message's end: bytes are body, not head
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False  # a head was refused: the connection is closing, its bytes are ignored

    # --- the head deadline -------------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        log.info(
            "closing a connection from %s: request head not complete within %g s",
            _peer(self.client),
            self.header_timeout,
        )
        self.transport.write(
            _close_with(b"408 Request Timeout", b"request head not complete in time\n"),
        )
        self.transport.close()

    # --- protocol callbacks ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()  # a client that connects and sends nothing is dropped too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counted = not self._in_body
        if counted:
            self._head_bytes += len(data)
        super().data_received(data)
        if counted and not self._in_body and self._head_bytes > self.max_header_bytes:
            self._refuse_head()

    def _refuse_head(self) -> None:
        self._refused = True
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        log.info(
            "refusing a request head of more than %d bytes from %s", self.max_header_bytes, _peer(self.client)
        )
        self.transport.write(
            _close_with(
                b"431 Request Header Fields Too Large",
                f"request line and headers exceed {self.max_header_bytes} bytes\n".encode("ascii"),
            )
        )
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        self._head_bytes = 0
        self._in_body = True
        # A head that arrived whole in one read is measured here: the request line and the header lines.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_header_bytes:
            self._refuse_head()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        if not self._refused:
            super().on_message_complete()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "a client"
