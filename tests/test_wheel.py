"""The wheel the way users install it: built from a copy of the source tree, installed into a fresh virtual
environment, and every command run from a folder outside the checkout.

The fresh environment gets the wheel itself (``pip install --no-deps``) and borrows the project's already
installed dependencies through a ``.pth`` line placed after its own site-packages. The ``.pth`` files of the
borrowed folder are not processed (only site-packages' own are), so the checkout's editable install is not
seen: ``syncer`` imports from the wheel's files or not at all (asserted below).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import EXAMPLE_CATALOG, PROJECT_ROOT

# Not part of the source a wheel is built from: the developer's environment and build leftovers.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests"
)


@dataclass(frozen=True)
class Installed:
    bin: Path
    site_packages: Path
    workdir: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "syncer"), *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.bin / "syncer"), *args],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _wait_for_file(path: Path, proc: subprocess.Popen[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert proc.poll() is None, f"exited early: {proc.communicate()[0]}"
        assert time.monotonic() < deadline, f"no {path.name} after {timeout}s"
        time.sleep(0.05)
    return path.read_text().strip()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_SOURCE)
    wheels = base / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [
            *pip,
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("syncer-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # zz: after everything the wheel installed; only the dependencies are found there.
    (site_packages / "zz_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    workdir = base / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCER_", "HF_", "PYTHON"))}
    env |= {"HF_HUB_CACHE": str(base / "hf-cache"), "SYNCER_CATALOG": str(workdir / "catalog.toml")}
    shutil.copy(EXAMPLE_CATALOG, workdir / "catalog.toml")
    return Installed(venv / "bin", site_packages, workdir, env)


@pytest.fixture(scope="module")
def mirror_url(installed: Installed) -> Iterator[str]:
    """`syncer mirror` from the wheel, serving the repos the wheel ships for the demo."""
    port_file = installed.workdir / "mirror.url"
    repos = installed.site_packages / "syncer" / "_demo" / "repos"
    proc = installed.start("mirror", str(repos), "--port", "0", "--port-file", str(port_file))
    try:
        yield _wait_for_file(port_file, proc)
    finally:
        _stop(proc)


def test_the_wheel_is_what_runs(installed: Installed) -> None:
    probe = subprocess.run(
        [str(installed.bin / "python"), "-c", "import syncer, syncer_mirror; print(syncer.__file__)"],
        cwd=installed.workdir,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(installed.site_packages), probe.stdout
    for shipped in ("_migrations/env.py", "_migrations/script.py.mako", "_demo/catalog.toml", "py.typed"):
        assert (installed.site_packages / "syncer" / shipped).is_file(), shipped
    assert list((installed.site_packages / "syncer" / "_migrations" / "versions").glob("0001_*.py"))
    version = installed.run("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "syncer 0.1.0"


def test_db_sync_status_serve_from_the_wheel(installed: Installed, mirror_url: str) -> None:
    env = {**installed.env, "HF_ENDPOINT": mirror_url}
    run = Installed(installed.bin, installed.site_packages, installed.workdir, env).run

    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "(head)" in upgraded.stdout
    current = run("db", "current")
    assert current.returncode == 0, current.stderr
    database, code = current.stdout.strip().split("; ")
    assert database.removeprefix("database: ") == code.removeprefix("code: ") != "empty"

    synced = run("sync", "now", "--json", timeout=300)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    report = json.loads(synced.stdout)
    assert report["exit_code"] == 0
    assert sum(report["hub_requests"].values()) > 0, "the run never asked the mirror"
    openrouter = installed.workdir / "var" / "snapshots" / "openrouter.json"
    assert json.loads(openrouter.read_text())["data"], "an empty OpenRouter view"

    status = run("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr

    server = Installed(installed.bin, installed.site_packages, installed.workdir, env)
    port = _free_port()
    proc = server.start("serve", "--port", str(port))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                code_, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except (ConnectionError, urllib.error.URLError):
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "syncer serve never answered"
                time.sleep(0.05)
        assert code_ == 200, body
        code_, body = _get(f"http://127.0.0.1:{port}/v1/models")
        assert code_ == 200
        assert json.loads(body)["data"]
    finally:
        _stop(proc)


def test_schedule_from_the_wheel(installed: Installed, mirror_url: str) -> None:
    env = {**installed.env, "HF_ENDPOINT": mirror_url}
    server = Installed(installed.bin, installed.site_packages, installed.workdir, env)
    port_file = installed.workdir / "metrics.port"
    proc = server.start("schedule", "--metrics-port", "0", "--metrics-port-file", str(port_file))
    try:
        port = _wait_for_file(port_file, proc)
        code, body = _get(f"http://127.0.0.1:{port}/metrics")
        assert code == 200
        assert b"syncer_" in body
    finally:
        _stop(proc)


def test_demo_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    env = {k: v for k, v in installed.env.items() if k != "SYNCER_CATALOG"}
    demo = subprocess.run(
        [str(installed.bin / "syncer"), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert (tmp_path / "var" / "snapshots" / "catalog.json").is_file()
    assert str(installed.site_packages / "syncer" / "_demo" / "repos") in demo.stdout


def _free_port() -> int:
    """A port free on 127.0.0.1 right now (released for the server to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
