"""The one place where syncer touches anything of ``huggingface_hub`` that is not its public API.

Every name here says why no public API does the job and which library versions it was checked against.
When the pinned ``huggingface_hub`` changes, re-check this file (and only this file); the guard test
``tests/test_hub_boundary.py`` fails if a private name is imported anywhere else.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Public: ``huggingface_hub.utils.httpx`` is the library's declared re-export of its vendored HTTP client
# (``httpx2``), kept "for downstream libraries across major versions" (utils/__init__.py, 2.4.0). Taking the
# module from there means syncer needs no undeclared ``import httpx2``.
from huggingface_hub import set_client_factory
from huggingface_hub.utils import httpx  # type: ignore[attr-defined]  # lazy re-export, in utils.__all__

# PRIVATE (checked against huggingface_hub 2.4.0): the library's default client (request hook for trace ids
# and offline mode, redirects followed, no client-level timeout). ``set_client_factory`` is public, but there is
# no public way to build the default client it replaces, so a factory that wants to keep the library's own
# behaviour has to start from this one (the notes: drop the hook and trace ids and offline mode stop working).
from huggingface_hub.utils._http import default_client_factory

# The transport failures the library lets through unwrapped (they are not ``OSError``).
TimeoutException: type[Exception] = httpx.TimeoutException
TransportError: type[Exception] = httpx.TransportError
Timeout = httpx.Timeout

# Why a client factory at all: ``hf_hub_download``'s GET takes its timeout from the module constant
# ``constants.HF_HUB_DOWNLOAD_TIMEOUT`` at call time, passed per request (so a client-level timeout is
# overridden), with no parameter to change it (2.4.0: ``file_download.http_get``). Rather than overwrite that
# process-wide constant, our client gets one extra request hook that replaces the GET timeout with the value set
# for the current call by :func:`get_timeout`; outside such a call every request keeps the library's timeouts.
_GET_TIMEOUT: ContextVar[float | None] = ContextVar("syncer_hub_get_timeout", default=None)
_install_lock = threading.Lock()
_installed = threading.Event()


def _apply_get_timeout(request: httpx.Request) -> None:
    seconds = _GET_TIMEOUT.get()
    if seconds is not None and request.method == "GET":
        request.extensions["timeout"] = httpx.Timeout(seconds).as_dict()


# Every request the client sends within :func:`count_sent` (a redirect the library follows is one more request
# of the same call, invisible to its caller): so the report counts what reached the Hub, not what we asked.
_SENT: ContextVar[list[int] | None] = ContextVar("syncer_hub_sent", default=None)


def _count_sent(request: httpx.Request) -> None:
    box = _SENT.get()
    if box is not None:
        box[0] += 1


def _client_factory() -> httpx.Client:
    client = default_client_factory()
    hooks = client.event_hooks
    client.event_hooks = {
        "request": [*hooks["request"], _apply_get_timeout, _count_sent],
        "response": hooks["response"],
    }
    return client


def install_client_factory() -> None:
    """Give ``huggingface_hub`` the default client plus the per-call GET timeout hook (once per process)."""
    with _install_lock:
        if not _installed.is_set():
            set_client_factory(_client_factory)
            _installed.set()


@contextmanager
def get_timeout(seconds: float) -> Iterator[None]:
    """Within this block (this thread or task only), GET requests of ``huggingface_hub`` time out after
    ``seconds`` (connect, read, write, pool). Needs :func:`install_client_factory` to have run."""
    token = _GET_TIMEOUT.set(seconds)
    try:
        yield
    finally:
        _GET_TIMEOUT.reset(token)


@contextmanager
def count_sent() -> Iterator[list[int]]:
    """Within this block (this thread only), ``box[0]`` counts the requests the library's client sends,
    redirect hops included. Needs :func:`install_client_factory` to have run."""
    box = [0]
    token = _SENT.set(box)
    try:
        yield box
    finally:
        _SENT.reset(token)
