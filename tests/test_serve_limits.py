"""`syncer serve` against bounded abusive clients on loopback (issue 13), and what /healthz shows to whom
(issues 12, 13, 16): a real uvicorn (the configuration `syncer serve` uses) and raw sockets.

Every abusive client here is bounded itself (a byte cap, a socket timeout), so a server that fails to bound
it makes the test fail instead of hang. No assertion is on speed: a "within the bound" check waits for the
server to close the connection with a generous socket timeout, many times the configured bound.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_serve import documents, publish, serve_settings, v2_document, wait_for

from syncer.serve import ServerThread
from syncer.serve.openapi import openapi_document
from syncer.settings import Settings

TOKEN = "s3cret-token-for-health"
GENEROUS = 20.0  # seconds a raw client waits for the server to answer or close; far above every bound below


@pytest.fixture
def snapshot_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "snapshots"
    publish(folder)
    return folder


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def start(settings: Settings) -> ServerThread:
        server = ServerThread(settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _address(server: ServerThread) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _connect(server: ServerThread) -> socket.socket:
    sock = socket.create_connection(_address(server), timeout=GENEROUS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_until_closed(sock: socket.socket, cap: int = 1 << 20) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    received = b""
    while len(received) < cap:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk
    raise AssertionError("the server sent more than the cap")


def _normal_get(server: ServerThread, path: str = "/v1/models") -> int:
    with httpx.Client(timeout=GENEROUS) as http:
        return http.get(server.url + path).status_code


# ---------------------------------------------------------------------------------------------------------
# Request heads: size
# ---------------------------------------------------------------------------------------------------------


def test_a_huge_header_is_refused_with_431_and_the_server_keeps_serving(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir, serve_max_header_bytes=16384))
    # Before the fix, uvicorn's httptools protocol buffered the whole header (100 MB were accepted): this
    # client sends up to 64 MB of one header and stops when the server closes on it.
    sent = 0
    with _connect(server) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        chunk = b"a" * 65536
        try:
            while sent < 64 << 20:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = _read_until_closed(sock)
        except (
            ConnectionResetError
        ):  # the close raced our unread bytes: the answer may be lost, not the close
            answer = b""
    assert sent < 8 << 20, f"the server read {sent} bytes of one header before closing"
    if answer:
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"16384 bytes" in answer
    assert _normal_get(server) == 200


def test_a_head_over_the_cap_in_one_send_gets_431_and_one_under_it_is_served(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir, serve_max_header_bytes=4096))
    with _connect(server) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 8192 + b"\r\n\r\n")
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:200]
    assert b"connection: close" in answer.lower()

    # Many headers that together stay under the cap are fine, and so is a keep-alive sequence of requests.
    headers = "".join(f"X-H{i}: {'c' * 20}\r\n" for i in range(100))  # ~2.9 KB
    with _connect(server) as sock:
        request = f"GET /healthz HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n".encode()
        sock.sendall(request + request.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
        answer = _read_until_closed(sock)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 2, answer[:300]


# ---------------------------------------------------------------------------------------------------------
# Request heads: time
# ---------------------------------------------------------------------------------------------------------


def test_half_a_request_is_dropped_with_408_within_the_header_timeout(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir, serve_header_timeout=1.0))
    with _connect(server) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n")  # the blank line never comes
        answer = _read_until_closed(sock)  # before the fix: socket.timeout (held forever)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]

    # A client that connects and says nothing is dropped too.
    with _connect(server) as sock:
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 408 ")
    assert _normal_get(server) == 200


def test_a_client_that_dribbles_its_head_is_dropped_although_it_is_never_idle(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    """Slowloris: one header byte every 0.2 s keeps any idle timer from firing; the head deadline counts
    from the request's first byte."""
    server = start_server(serve_settings(snapshot_dir, serve_header_timeout=1.0))
    sent = 0
    with _connect(server) as sock:
        sock.settimeout(0.2)
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        closed = False
        while sent < 500:  # 100 s of dribbling at most: the deadline is 1 s
            try:
                data = sock.recv(65536)
            except TimeoutError:
                data = None
            if data is not None:  # an answer or the close
                closed = True
                break
            try:
                sock.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sent += 1
    assert closed, "the dribbling client was never dropped"
    assert sent < 100, f"the server kept a dribbling head for {sent} bytes (0.2 s each)"
    assert _normal_get(server) == 200


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir, serve_keep_alive=1))
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = _read_until_closed(sock)  # one answer, then the close of the idle connection
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.count(b"HTTP/1.1 ") == 1


# ---------------------------------------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------------------------------------


def test_connections_over_the_cap_get_503_and_the_server_serves_again_when_they_go(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir, serve_max_connections=3, serve_header_timeout=60))
    held = [_connect(server) for _ in range(2)]
    try:
        for sock in held:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\n")  # half a request each, holding a connection
        wait_for(lambda: len(server._server.server_state.connections) == 2, "two held connections")
        assert _normal_get(server) == 200  # the third connection is within the cap

        held.append(_connect(server))
        held[-1].sendall(b"GET /v1/models HTTP/1.1\r\n")
        wait_for(lambda: len(server._server.server_state.connections) == 3, "three held connections")
        with httpx.Client(timeout=GENEROUS) as http:
            over = http.get(server.url + "/v1/models")  # the fourth: over the cap
        assert over.status_code == 503, over.status_code
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: len(server._server.server_state.connections) == 0, "the held connections to go")
    assert _normal_get(server) == 200


# ---------------------------------------------------------------------------------------------------------
# The trailing-slash redirect
# ---------------------------------------------------------------------------------------------------------


def test_the_trailing_slash_redirect_never_names_the_host_header(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir))
    with httpx.Client(timeout=GENEROUS, follow_redirects=False) as http:
        evil = {"Host": "evil.example"}
        response = http.get(server.url + "/healthz/", headers=evil)
        assert response.status_code == 307 and response.headers["location"] == "/healthz"
        response = http.get(server.url + "/openapi.json//?x=1", headers=evil)
        assert response.status_code == 307 and response.headers["location"] == "/openapi.json?x=1"
        # Not a route without its slash: 404, and never a protocol-relative //host Location.
        for path in ("//evil.example/", "/nothing/"):
            response = http.get(server.url + path, headers=evil)
            assert response.status_code == 404 and "location" not in response.headers, path
        # Followed, the redirect lands on the same server.
        assert http.get(server.url + "/healthz/", follow_redirects=True).status_code == 200


# ---------------------------------------------------------------------------------------------------------
# /healthz: names and ages for anyone, hashes with the token, rejected files are problems
# ---------------------------------------------------------------------------------------------------------


def test_healthz_shows_no_path_and_no_hash_without_the_token(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir, api_token=TOKEN))
    openrouter, _catalog = documents()
    digest = hashlib.sha256(openrouter).hexdigest()
    with httpx.Client(timeout=GENEROUS) as http:
        anonymous = http.get(server.url + "/healthz")
        assert anonymous.status_code == 200
        body = anonymous.json()
        assert body["status"] == "ok" and body["problems"] == []
        # Before the fix: "file": "/tmp/.../snapshots/openrouter.json" and the protected view's sha256/ETag.
        assert str(snapshot_dir) not in anonymous.text and "/" not in "".join(
            s["file"] for s in body["snapshots"].values()
        )
        assert digest not in anonymous.text and digest[:12] not in anonymous.text
        for name, snap in body["snapshots"].items():
            assert snap["loaded"] is True and snap["age_seconds"] >= 0, name
            assert "sha256" not in snap and "etag" not in snap, name
        assert {s["file"] for s in body["snapshots"].values()} == {
            "openrouter.json",
            "catalog.json",
            "openrouter-v2.json",
        }
        for wrong in ("Bearer wrong", "Basic " + TOKEN):
            assert digest not in http.get(server.url + "/healthz", headers={"Authorization": wrong}).text

        authorized = http.get(server.url + "/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert authorized["snapshots"]["openrouter"]["sha256"] == digest
        assert authorized["snapshots"]["openrouter"]["etag"] == f'"{digest}"'
        assert str(snapshot_dir) not in str(authorized)


def test_healthz_reports_a_rejected_file_as_a_problem(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    """Issue 12: today a file on disk that fails the checks leaves `status: ok`, `problems: []`."""
    server = start_server(serve_settings(snapshot_dir, api_token=TOKEN))
    broken = b'{"data": [{"id": "x"}]}\n'
    (snapshot_dir / "openrouter.json").write_bytes(broken)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(timeout=GENEROUS) as http:
        wait_for(
            lambda: http.get(server.url + "/healthz").json()["status"] != "ok",
            "the rejected file to show in /healthz",
        )
        anonymous = http.get(server.url + "/healthz")
        # The last good snapshot is served: 200 so a load balancer keeps the server, but not "ok".
        assert anonymous.status_code == 200
        body = anonymous.json()
        assert body["status"] == "degraded"
        assert len(body["problems"]) == 1
        assert body["problems"][0].startswith("openrouter: the file on disk was rejected (")
        assert body["problems"][0].endswith("the last good snapshot is still served")
        assert "breaks the listing spec" not in anonymous.text  # the reason may quote the protected file
        assert hashlib.sha256(broken).hexdigest()[:12] not in anonymous.text

        detailed = http.get(server.url + "/healthz", headers=auth).json()
        snap = detailed["snapshots"]["openrouter"]
        assert "breaks the listing spec" in snap["last_error"]
        assert snap["rejected_sha256"] == hashlib.sha256(broken).hexdigest()
        assert snap["sha256"] == hashlib.sha256(documents()[0]).hexdigest()  # still serving the good one
        assert http.get(server.url + "/v1/models?format=openrouter", headers=auth).content == documents()[0]

        # A rejected catalog view is public data: its reason is shown to anyone.
        (snapshot_dir / "catalog.json").write_bytes(b"not json\n")
        wait_for(lambda: len(http.get(server.url + "/healthz").json()["problems"]) == 2, "two problems")
        problems = http.get(server.url + "/healthz").json()["problems"]
        assert any(p.startswith("catalog: the file on disk was rejected (not valid JSON") for p in problems)

        # The good files back (as a rollback writes them): the problems go.
        publish(snapshot_dir)
        wait_for(lambda: http.get(server.url + "/healthz").json()["status"] == "ok", "status ok again")
        assert http.get(server.url + "/healthz").json()["problems"] == []


def test_healthz_with_no_snapshot_and_a_rejected_file_is_503(
    tmp_path: Path, start_server: Callable[..., ServerThread]
) -> None:
    folder = tmp_path / "snapshots"
    publish(folder)
    (folder / "openrouter-v2.json").write_bytes(b'{"data": [{"schema_version": "9"}]}\n')
    server = start_server(serve_settings(folder))
    with httpx.Client(timeout=GENEROUS) as http:
        response = http.get(server.url + "/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["problems"][0] == "openrouter-v2: no snapshot loaded"
    assert body["problems"][1].startswith("openrouter-v2: the file on disk was rejected (")
    assert body["problems"][1].endswith("nothing is served")


# ---------------------------------------------------------------------------------------------------------
# Issue 16: the 2.4 document over HTTP and through the CLI
# ---------------------------------------------------------------------------------------------------------


def test_the_2_4_document_is_served_byte_for_byte_with_the_flat_views_rules(
    snapshot_dir: Path, start_server: Callable[..., ServerThread]
) -> None:
    server = start_server(serve_settings(snapshot_dir, api_token=TOKEN))
    url = server.url + "/v1/models?format=openrouter&schema_version=2.4"
    v2 = v2_document()
    etag = f'"{hashlib.sha256(v2).hexdigest()}"'
    auth = {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "identity"}
    with httpx.Client(timeout=GENEROUS) as http:
        assert http.get(url).status_code == 401
        assert http.get(url, headers={"If-None-Match": etag}).status_code == 401  # no 304 without the token

        response = http.get(url, headers=auth)
        assert response.status_code == 200 and response.content == v2
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "private, max-age=10"
        assert http.get(url, headers={**auth, "If-None-Match": etag}).status_code == 304

        with http.stream("GET", url, headers={**auth, "Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip" and gzip.decompress(raw) == v2
        assert zipped.headers["etag"] == etag[:-1] + '-gzip"'

        # The same query in another order or with format last is the same view.
        other_order = server.url + "/v1/models?schema_version=2.4&format=openrouter"
        assert http.get(other_order, headers=auth).content == v2

        for query, why in (
            ("format=openrouter&schema_version=2.3", "an unknown schema version"),
            ("format=openrouter&schema_version=", "an empty schema version"),
            ("format=catalog&schema_version=2.4", "a schema version of the catalog view"),
            ("schema_version=2.4", "a schema version of the default view"),
        ):
            bad = http.get(f"{server.url}/v1/models?{query}", headers=auth)
            assert bad.status_code == 400, why
            assert bad.json()["error"]["code"] == "invalid_format", why
            assert "schema_version=2.4" in bad.json()["error"]["message"], why


def test_the_openapi_document_describes_the_2_4_view() -> None:
    document = openapi_document(protected=True)
    listing = document["paths"]["/v1/models"]["get"]
    parameters = {p["name"]: p for p in listing["parameters"]}
    assert parameters["schema_version"]["schema"]["enum"] == ["2.4"]
    schemas = listing["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert {"$ref": "#/components/schemas/OpenRouterV2Listing"} in schemas
    assert "schema_version" not in {
        p["name"] for p in document["paths"]["/v1/models/{model_id}"]["get"]["parameters"]
    }
    # Issue 14: the catalog view's pricing shape and its units are in the path descriptions.
    for path in ("/v1/models", "/v1/models/{model_id}"):
        text = document["paths"][path]["get"]["description"]
        assert '`{key: "decimal string"}`' in text and "above_prompt_tokens" in text, path
        assert "base tier first" in text and "`prompt` USD per input token" in text, path
        assert "`input_cache_read` USD per cached input token" in text, path
    health = document["components"]["schemas"]["Health"]
    assert health["properties"]["status"]["enum"] == ["ok", "degraded", "unavailable"]
    assert set(health["properties"]["snapshots"]["required"]) == {"catalog", "openrouter", "openrouter-v2"}


def test_snapshot_show_prints_the_2_4_document_byte_for_byte(snapshot_dir: Path) -> None:
    env: dict[str, Any] = {
        k: v for k, v in os.environ.items() if not k.startswith("SYNCER_") or k.startswith("SYNCER_TEST_")
    }
    env["SYNCER_SNAPSHOT_DIR"] = str(snapshot_dir)
    shown = subprocess.run(
        [sys.executable, "-m", "syncer", "snapshot", "show", "--format", "openrouter-v2"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == v2_document()

    (snapshot_dir / "openrouter-v2.json").unlink()
    missing = subprocess.run(
        [sys.executable, "-m", "syncer", "snapshot", "show", "--format", "openrouter-v2"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 1 and b"no openrouter-v2 snapshot" in missing.stderr
