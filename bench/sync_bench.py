"""Benchmark `syncer sync now` against the naive loop, through the local Hub mirror with injected latency.

    .venv/bin/python bench/sync_bench.py [--sizes 1000,10000] [--authors 20] [--latency 0.05] [--naive-sample 50]
                                         [--concurrency 16] [--plan free] [--plan-large enterprise]
                                         [--snapshot-models 10000]

Environment overrides (for `make bench`): SYNC_BENCH_SIZES, SYNC_BENCH_AUTHORS, SYNC_BENCH_LATENCY,
SYNC_BENCH_NAIVE_SAMPLE, SYNC_BENCH_CONCURRENCY, SYNC_BENCH_PLAN, SYNC_BENCH_PLAN_LARGE, SYNC_BENCH_SNAPSHOT_MODELS.

What it does (issues 6 and 17), once per size N (the naive loop only for the first size, extrapolated to each):

1. builds N synthetic repos in a temp folder: copies of the real fixture repos under ``mirror/repos/`` (every
   file but ``SOURCE.md``), spread over many authors, each with its own ``README.md`` (so its own commit) and
   ``_repo.json`` (its own ``createdAt``); fixtures whose facts cannot be derived are skipped. A catalog with
   one model per repo (``max_output_length`` = min(1024, the checkpoint's context));
2. starts the mirror (``python -m syncer_mirror --control``) as a separate process, with ``--latency`` per request,
   and has it hash every repo (one unlogged listing per author) before the measured runs: the real Hub does not
   compute a commit when it is asked;
3. runs each scenario in its own subprocess (so peak RSS and CPU are per run): the naive loop
   (``model_info`` then ``hf_hub_download`` by branch, sequential) cold and warm on a sample, extrapolated
   linearly to N; ``run_sync`` cold, warm unchanged, and warm with 5% of the repos at a new commit;
4. counts Hub requests by kind from the mirror's request log (reset before each run), and prints one table
   with the issue's ideal ``requests x latency / concurrency`` (and, beside it, the client CPU per request
   measured on the naive loop: pure request work through the same client);
5. times building and writing the three snapshot documents from M (default 10,000) merged entries vs plain
   ``json.dumps`` of the same documents;
6. times the catalog load (parse, validate, defaults, digests) of the largest N's catalog, best of 3;
7. prints one table for every size, the machine and its load average, and issue 17's targets with PASS/FAIL
   (the plan's limiter is applied to the cold run's request log: a cold run lasts less than one 5-minute window,
   so every request beyond the plan's published limits would have been a 429).

It measures and prints; it exits 0 when it ran (a missed target is a FAIL line, not an exit status), and
non-zero only when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "mirror" / "repos"
PYTHON = sys.executable
MAX_OUTPUT = 1024
NOTES_CPU_PER_REQUEST = 0.0006  # /work/shared/notes/huggingface-hub-2x.md: model_info, 0.6 ms of client CPU
CHANGED_SHARE = 0.05
MIRROR_RACY_S = 2.1  # syncer_mirror.repos._RACY_NS (2 s), and a margin


# ---------------------------------------------------------------------------------------------------------
# Child processes: one scenario each, reporting their own wall, CPU and peak RSS as JSON.
# ---------------------------------------------------------------------------------------------------------


def _usage() -> tuple[float, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024  # CPU seconds, peak RSS in MiB (Linux: KiB)


def _child_naive(spec: dict[str, Any]) -> dict[str, Any]:
    """The naive loop of the issue: per model, model_info then hf_hub_download by branch, one after another."""
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi(endpoint=spec["endpoint"], token=False)
    cpu0, _ = _usage()
    t0 = time.perf_counter()
    failures = 0
    for repo in spec["repos"]:
        try:
            api.model_info(repo, timeout=10)
            hf_hub_download(
                repo, "config.json", endpoint=spec["endpoint"], cache_dir=spec["cache_dir"], token=False
            )
        except Exception as exc:
            failures += 1
            print(f"naive: {repo}: {type(exc).__name__}: {exc}", file=sys.stderr)
    wall = time.perf_counter() - t0
    cpu1, rss = _usage()
    return {
        "wall": wall,
        "cpu": cpu1 - cpu0,
        "rss_mb": rss,
        "failures": failures,
        "models": len(spec["repos"]),
    }


def _child_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """One `syncer sync now`, i.e. run_sync with settings from the environment (set by the parent)."""
    t_import = time.perf_counter()
    from syncer.settings import load_settings
    from syncer.sync import run_sync

    imported = time.perf_counter() - t_import
    import syncer.sync as sync_module

    hub_phase = [0.0]
    fetch_all = sync_module.resolve_models

    def timed_fetch_all(*args: Any, **kwargs: Any) -> Any:  # the Hub phase; the rest of the run is local work
        t = time.perf_counter()
        try:
            return fetch_all(*args, **kwargs)
        finally:
            hub_phase[0] += time.perf_counter() - t

    sync_module.resolve_models = timed_fetch_all  # type: ignore[assignment]
    settings = load_settings()
    # The progress's expected finish of the Hub stage (what `sync now` prints), as it stood at 10% and 50%.
    etas: dict[str, dict[str, float]] = {}

    def on_eta(eta: Any) -> None:
        for share in ("10%", "50%"):
            if share not in etas and eta.total and eta.done >= eta.total * int(share[:-1]) / 100:
                etas[share] = {"elapsed": eta.elapsed, "expected_end": eta.elapsed + eta.remaining}

    cpu0, _ = _usage()
    t0 = time.perf_counter()
    report = run_sync(settings=settings, trigger="bench", hub_eta=on_eta)
    wall = time.perf_counter() - t0
    cpu1, rss = _usage()
    statuses = Counter(o.status for o in report.outcomes)
    return {
        "wall": wall,
        "cpu": cpu1 - cpu0,
        "rss_mb": rss,
        "import_s": imported,
        "hub_s": hub_phase[0],
        "etas": etas,
        "exit_code": report.exit_code,
        "requests": dict(report.requests),
        "statuses": dict(statuses),
        "errors": [f"{o.model_id}: {o.error_kind}: {o.error}" for o in report.failed][:5],
        "held": report.held_reasons,
        "models": len(report.outcomes),
    }


def _child_snapshot(spec: dict[str, Any]) -> dict[str, Any]:
    """Snapshot build + write from M merged entries vs plain json.dumps of the same documents."""
    from syncer import snapshot as snap
    from syncer.catalog import load_catalog
    from syncer.listing import catalog_document, merge_model, openrouter_document, openrouter_v2_document

    catalog = load_catalog(Path(spec["catalog"]))
    facts_by_repo = {
        repo: _facts_from_folder(Path(spec["repos_root"]) / repo) for repo in spec["template_repos"]
    }
    templates = [m for m in catalog.models if m.hugging_face_id in facts_by_repo]
    count = spec["models"]
    t0 = time.perf_counter()
    merged = []
    for i in range(count):
        base = templates[i % len(templates)]
        model = base.model_copy(
            update={
                "id": f"s{i:06d}",
                "openrouter": base.openrouter.model_copy(update={"slug": f"bench/s{i:06d}"}),
            }
        )
        merged.append(
            merge_model(
                model=model, facts=facts_by_repo[base.hugging_face_id], catalog_file=str(catalog.path)
            )
        )
    merge_s = time.perf_counter() - t0
    # Shuffle-free but not pre-sorted input: reverse, as a database would hand rows back in any order.
    merged.reverse()
    or_entries = [m.openrouter_entry for m in merged if m.openrouter_entry]
    cat_entries = [m.catalog_entry for m in merged]
    v2_entries = [m.openrouter_v2_entry for m in merged if m.openrouter_v2_entry]

    def documents() -> dict[str, dict[str, Any]]:
        return {
            snap.OPENROUTER: openrouter_document(or_entries),
            snap.OPENROUTER_V2: openrouter_v2_document(v2_entries),
            snap.CATALOG: catalog_document(cat_entries),
        }

    out = Path(spec["out_dir"])
    from syncer.formats.views import ENTRY_VALIDATORS
    from syncer.publish import render_views

    by_id = {m.model_id: m for m in merged}

    def build() -> dict[str, float]:
        """What run_sync does from merged entries to files: render_views (the three documents, their own
        rules checked, the entries' problems found when they were merged raised, rendered) and the writes.
        Each entry's text (Merged.texts, which a run encodes when it merges) is encoded afresh in every
        repeat and counted here, so the build is compared with json.dumps for the whole encoding."""
        for m in merged:
            m.__dict__.pop("texts", None)  # a cached_property: forget the previous repeat's encoding
            m.__dict__.pop("digest", None)
        times: dict[str, float] = {}
        t = time.perf_counter()
        views = render_views(by_id)
        times["render"] = time.perf_counter() - t
        t = time.perf_counter()
        for name, data in views.rendered.items():
            snap.write_atomic(out / snap.FILE_NAMES[name], data)
        times["write"] = time.perf_counter() - t
        times["total"] = times["render"] + times["write"]
        times["bytes"] = float(sum(len(d) for d in views.rendered.values()))
        return times

    def entry_validation() -> float:
        """What merge_model spends validating the entries it makes (once per entry, when it is made)."""
        t = time.perf_counter()
        for m in merged:
            for view, entry in ((snap.OPENROUTER, m.openrouter_entry), (snap.CATALOG, m.catalog_entry),
                                (snap.OPENROUTER_V2, m.openrouter_v2_entry)):  # fmt: skip
                if entry is not None:
                    assert not ENTRY_VALIDATORS[view](entry)  # type: ignore[index]
        return time.perf_counter() - t

    plain_docs = documents()

    def plain() -> float:
        t = time.perf_counter()
        for doc in plain_docs.values():
            json.dumps(doc)
        return time.perf_counter() - t

    runs = [build() for _ in range(spec["repeat"])]
    best = min(runs, key=lambda r: r["total"])
    plain_s = min(plain() for _ in range(spec["repeat"]))
    validate_s = min(entry_validation() for _ in range(spec["repeat"]))
    _, rss = _usage()
    return {"merge_s": merge_s, "build": best, "plain_s": plain_s, "rss_mb": rss, "entries": count,
            "openrouter_entries": len(or_entries), "entry_validation_s": validate_s}  # fmt: skip


def _child_catalog(spec: dict[str, Any]) -> dict[str, Any]:
    """The catalog load of a run (parse, validate every model once, defaults, digests), best of ``repeat``;
    and the TOML parse alone, by the parser the load uses."""
    import rtoml

    from syncer.catalog import load_catalog

    path = Path(spec["catalog"])
    loads, parses = [], []
    models = 0
    for _ in range(spec["repeat"]):
        t = time.perf_counter()
        models = len(load_catalog(path).models)
        loads.append(time.perf_counter() - t)
        t = time.perf_counter()
        rtoml.loads(path.read_text(encoding="utf-8"))
        parses.append(time.perf_counter() - t)
    return {"models": models, "load_s": min(loads), "parse_s": min(parses), "bytes": path.stat().st_size}


def _facts_from_folder(folder: Path) -> Any:
    """The Facts the worker would derive from a repo folder (the same files hub.fetch reads)."""
    from datetime import UTC, datetime

    from syncer.derive import HubFiles, derive_facts
    from syncer.listing import Facts

    files = _hub_files(folder, HubFiles)
    derived = derive_facts(files)
    meta = json.loads((folder / "_repo.json").read_text()) if (folder / "_repo.json").exists() else {}
    created = meta.get("createdAt", "2025-01-01T00:00:00.000Z")
    return Facts(
        repo_id=folder.parent.name + "/" + folder.name,
        commit_sha="0" * 40,
        created_at=datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(UTC),
        context_length=derived.context_length.value if derived.context_length else None,
        input_modalities=tuple(derived.input_modalities.value),
        output_modalities=tuple(derived.output_modalities.value),
        template_features=(
            tuple(derived.template_features.value) if derived.template_features.value is not None else None
        ),
        pipeline_tag=files.pipeline_tag,
        provenance={"context_length": "config.json"},
    )


def _hub_files(folder: Path, hub_files: Any) -> Any:
    """HubFiles as syncer.hub.HubClient.fetch builds them: the files it downloads (the template file wins over
    tokenizer_config.json), each into the HubFiles field of the same name."""
    import dataclasses

    from syncer.hub import CONFIG_FILES, TEMPLATE_FILES

    meta = json.loads((folder / "_repo.json").read_text()) if (folder / "_repo.json").exists() else {}
    fields = {f.name for f in dataclasses.fields(hub_files)}
    kwargs: dict[str, Any] = {}
    for name in (*CONFIG_FILES, *TEMPLATE_FILES):
        path = folder / name
        if not path.exists() or (name == "tokenizer_config.json" and "chat_template" in kwargs):
            continue
        field = name.rsplit(".", 1)[0]
        if field in fields:
            kwargs[field] = path.read_text() if name.endswith(".jinja") else json.loads(path.read_text())
    return hub_files(
        **kwargs,
        has_video_preprocessor=(folder / "video_preprocessor_config.json").exists(),
        pipeline_tag=meta.get("pipeline_tag"),
        tags=tuple(meta.get("tags", ())),
        library_name=meta.get("library_name"),
    )


def child_main(kind: str, spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    runner = {
        "naive": _child_naive,
        "sync": _child_sync,
        "snapshot": _child_snapshot,
        "catalog": _child_catalog,
    }[kind]
    result = runner(spec)
    Path(out_path).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------------------
# The parent: data set, mirror, scenarios, table.
# ---------------------------------------------------------------------------------------------------------


class BenchError(RuntimeError):
    """The benchmark could not run (not: a target was missed)."""


def usable_fixtures() -> tuple[list[tuple[str, int]], list[str]]:
    """(fixture repo id, native context) for every fixture the worker can derive facts from; and the skipped."""
    sys.path.insert(0, str(ROOT))
    from syncer.derive import DerivationError, HubFiles, derive_facts

    usable, skipped = [], []
    for config in sorted(FIXTURES.glob("*/*/config.json")):
        folder = config.parent
        repo = f"{folder.parent.name}/{folder.name}"
        try:
            derived = derive_facts(_hub_files(folder, HubFiles))
        except (DerivationError, ValueError) as exc:
            skipped.append(f"{repo} ({exc})")
            continue
        if derived.context_length is None or derived.context_length.value is None:
            skipped.append(f"{repo} (no context length)")
            continue
        usable.append((repo, int(derived.context_length.value)))
    return usable, skipped


def build_repos(
    root: Path, fixtures: list[tuple[str, int]], models: int, authors: int
) -> list[dict[str, Any]]:
    """N repos, ``authors`` authors, fixtures round robin; returns [{repo, fixture, context}] in catalog order."""
    per_author = -(-models // authors)
    files = {fixture: needed_files(FIXTURES / fixture) for fixture, _ in fixtures}
    repos = []
    for i in range(models):
        fixture, context = fixtures[i % len(fixtures)]
        author = f"bench-org-{i // per_author:03d}"
        name = f"{fixture.split('/')[1]}-{i:05d}"
        target = root / author / name
        source = FIXTURES / fixture
        target.mkdir(parents=True)
        for f in source.iterdir():
            if f.is_file() and f.name not in ("SOURCE.md", "_repo.json"):
                shutil.copyfile(f, target / f.name)
        meta = json.loads((source / "_repo.json").read_text()) if (source / "_repo.json").exists() else {}
        for key in ("sha", "renamed_from", "gated", "private", "revisions"):
            meta.pop(key, None)
        meta["createdAt"] = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z"
        (target / "_repo.json").write_text(json.dumps(meta))
        (target / "README.md").write_text(
            f"# {author}/{name}\n\nA copy of {fixture} for the sync benchmark.\n"
        )
        repos.append({"repo": f"{author}/{name}", "fixture": fixture, "context": context,
                      "files": files[fixture]})  # fmt: skip
    return repos


def needed_files(folder: Path) -> int:
    """The files the worker must download from one repo to derive its facts (syncer.hub.HubClient.fetch):
    each config and template file the repo has, the tokenizer config only when no chat_template.jinja."""
    from syncer.hub import CONFIG_FILES, TEMPLATE_FILES  # importable: usable_fixtures put ROOT on sys.path

    names = {n for n in (*CONFIG_FILES, *TEMPLATE_FILES) if (folder / n).is_file()}
    if "chat_template.jinja" in names:
        names.discard("tokenizer_config.json")
    return len(names)


#: per N, the files a cold run must download (the floor of its resolver requests)
FLOORS: dict[int, int] = {}


def new_commit(folder: Path, name: str) -> None:
    """Edit one file of a repo: the mirror's commit sha is a hash of the files, so this is a new commit."""
    path = folder / name
    if name.endswith(".json"):
        data = json.loads(path.read_text())
        data["bench_commit"] = (
            data.get("bench_commit", 0) + 1
        )  # an unknown key: the derived facts are unchanged
        path.write_text(json.dumps(data, indent=2))
    else:
        with path.open("a") as fh:
            fh.write("A new commit.\n")


def write_catalog(path: Path, repos: list[dict[str, Any]]) -> None:
    lines = [
        "[defaults]",
        'datacenters = ["JP", "US"]',
        'supported_sampling_parameters = ["temperature", "top_p", "max_tokens"]',
        "",
    ]
    for i, r in enumerate(repos):
        lines += [
            "[[models]]",
            f'id = "m{i:05d}"',
            f'hugging_face_id = "{r["repo"]}"',
            f"max_output_length = {min(MAX_OUTPUT, r['context'])}",
            f'openrouter = {{ slug = "bench/m{i:05d}" }}',
            f'pricing = {{ prompt = "0.{i % 7 + 1:07d}", completion = "0.{i % 5 + 2:07d}" }}',
            "",
        ]
    path.write_text("\n".join(lines))


class Mirror:
    def __init__(self, root: Path, latency: float, work: Path) -> None:
        port_file = work / "mirror.url"
        self.log = (work / "mirror.log").open("w")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "syncer_mirror", str(root), "--control", "--port", "0", "--latency", str(latency),
             "--port-file", str(port_file)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"the mirror did not start (see {work / 'mirror.log'})")
            time.sleep(0.05)
        self.url = port_file.read_text().strip()

    def _call(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self._call("POST", "/_mirror/reset")

    def warm(self, authors: list[str], written: float) -> float:
        """Have the mirror hash every repo before a measured run, and forget those requests; returns the
        seconds it took. The mirror computes a repo's commit sha from its files on first use (and again for
        files written less than MIRROR_RACY_S before), one repo at a time: the first listing of a fresh
        mirror cost about 50 ms of mirror CPU per 50 repos, serialised, so a cold run's first second measured
        the mirror's hashing, not the client. The real Hub has its commits already. ``written``: when the
        last repo file was written (time.time())."""
        time.sleep(max(0.0, written + MIRROR_RACY_S - time.time()))
        started = time.perf_counter()
        for author in authors:
            url: str | None = f"{self.url}/api/models?author={author}&expand=sha"
            while url:  # every page (the Link header's next), so every repo is hashed whatever the page size
                with urllib.request.urlopen(url, timeout=60) as r:
                    r.read()
                    found = re.search(r'<([^>]+)>;\s*rel="next"', r.headers.get("Link") or "")
                url = found.group(1) if found else None
        self.reset()
        return time.perf_counter() - started

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_mirror/requests"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def classify(log: list[dict[str, Any]]) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for r in log:
        if r["kind"] == "api":
            kinds["api_list" if r["path"] == "/api/models" else "api_info"] += 1
        elif r["kind"] == "resolve":
            kinds["resolve_head" if r["method"] == "HEAD" else "resolve_get"] += 1
            kinds["resolve_config"] += str(r["path"]).endswith("/config.json")
        else:
            kinds["other"] += 1
        if not 200 <= int(r["status"]) < 400:
            kinds["http_errors"] += 1
    kinds["api"] = kinds["api_list"] + kinds["api_info"]
    kinds["resolve"] = kinds["resolve_head"] + kinds["resolve_get"]
    kinds["total"] = kinds["api"] + kinds["resolve"] + kinds["other"]
    keys = ("api_list", "api_info", "resolve_head", "resolve_get", "other", "http_errors")
    return {k: kinds[k] for k in (*keys, "api", "resolve", "total", "resolve_config")}


def run_child(
    kind: str, spec: dict[str, Any], work: Path, name: str, *, env: dict[str, str], timeout: float
) -> dict[str, Any]:
    spec_path, out_path, err_path = (
        work / f"{name}.spec.json",
        work / f"{name}.out.json",
        work / f"{name}.stderr",
    )
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    with err_path.open("w") as err:
        proc = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "--child", kind, str(spec_path), str(out_path)],
            cwd=ROOT, env=env, stdout=err, stderr=subprocess.STDOUT, timeout=timeout, check=False,
        )  # fmt: skip
    if proc.returncode != 0 or not out_path.exists():
        tail = err_path.read_text()[-3000:]
        raise BenchError(f"scenario {name} exited {proc.returncode}:\n{tail}")
    result = json.loads(out_path.read_text())
    result["process_wall"] = time.perf_counter() - started
    return result


def child_env(work: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "SYNCER_"))}
    env.update(
        {
            "HF_HOME": str(work / "hf-home"),  # no stored token, no shared cache
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {mem}, Linux {platform.release()}, Python {platform.python_version()}"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else (f"{x:.0f}x" if x >= 100 else f"{x:.1f}x")


def main(argv: list[str] | None = None) -> int:
    env_default = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=env_default("SYNC_BENCH_SIZES", "1000,10000"),
                        help="comma-separated N (models) to run; the naive loop runs once on the first")  # fmt: skip
    parser.add_argument("--authors", type=int, default=int(env_default("SYNC_BENCH_AUTHORS", 20)))
    parser.add_argument("--latency", type=float, default=float(env_default("SYNC_BENCH_LATENCY", 0.05)),
                        help="seconds the mirror sleeps before every answer")  # fmt: skip
    parser.add_argument("--naive-sample", type=int, default=int(env_default("SYNC_BENCH_NAIVE_SAMPLE", 50)),
                        help="models the naive loop runs on (extrapolated linearly to each N)")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=int(env_default("SYNC_BENCH_CONCURRENCY", 16)))
    parser.add_argument("--plan", default=env_default("SYNC_BENCH_PLAN", "free"),
                        help="SYNCER_HUB_PLAN for the syncs at N <= 1,000 (the budget they pace below)")  # fmt: skip
    parser.add_argument("--plan-large", default=env_default("SYNC_BENCH_PLAN_LARGE", "enterprise"),
                        help="SYNCER_HUB_PLAN for N > 1,000 (a cold 10,000 needs ~26,000 resolver requests: only"
                        " enterprise's 50,000 per window fits them in one window)")  # fmt: skip
    parser.add_argument(
        "--snapshot-models", type=int, default=int(env_default("SYNC_BENCH_SNAPSHOT_MODELS", 10000))
    )
    parser.add_argument("--change-file", default=env_default("SYNC_BENCH_CHANGE_FILE", "config.json"),
                        help="the file edited in 5%% of the repos (config.json: a new blob to download; README.md:"
                        " a new commit whose config blobs are already cached)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (printed)")
    args, _unknown = parser.parse_known_args(argv)  # bench/run.py passes its own arguments through
    try:
        sizes = [int(x) for x in str(args.sizes).split(",") if x.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 20 or args.naive_sample < 1 or args.authors < 1:
        parser.error("need --sizes each >= 20, --naive-sample >= 1, --authors >= 1")
    sample_n = min(args.naive_sample, sizes[0])

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="syncer-sync-bench-"))
    mirror: Mirror | None = None
    load_start = os.getloadavg()
    try:
        fixtures, skipped = usable_fixtures()
        if not fixtures:
            raise BenchError("no usable fixture repo under mirror/repos")
        print(
            f"machine: {machine()}; load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} at start"
        )
        if skipped:
            print(f"skipped fixtures (derivation fails): {', '.join(skipped)}")
        naive: dict[str, dict[str, Any]] = {}
        results: list[tuple[int, str, dict[str, dict[str, Any]], int]] = []
        snapshot_catalog: Path | None = None
        snapshot_repos: tuple[Path, list[str]] | None = None
        for n in sizes:
            t_build = time.perf_counter()
            size_dir = work / f"n{n}"
            repos_root = size_dir / "repos"
            repos = build_repos(repos_root, fixtures, n, args.authors)
            FLOORS[n] = sum(r["files"] for r in repos)
            catalog = size_dir / "catalog.toml"
            write_catalog(catalog, repos)
            if snapshot_catalog is None:
                snapshot_catalog = catalog
                snapshot_repos = (repos_root, [r["repo"] for r in repos[: len(fixtures)]])
            plan = args.plan if n <= 1000 else args.plan_large
            print(f"\nN = {n}: {len(repos)} repos ({len(fixtures)} fixtures round robin, "
                  f"{len({r['repo'].split('/')[0] for r in repos})} authors) built in {time.perf_counter() - t_build:.1f}s;"
                  f" latency {args.latency * 1000:.0f} ms/request; concurrency {args.concurrency}; plan {plan}", flush=True)  # fmt: skip

            mirror = Mirror(repos_root, args.latency, size_dir)
            authors = sorted({r["repo"].split("/")[0] for r in repos})
            written = time.time()  # the repos were written before the mirror started
            rows: dict[str, dict[str, Any]] = {}

            def scenario(
                name: str,
                kind: str,
                spec: dict[str, Any],
                env: dict[str, str],
                timeout: float,
                *,
                _mirror: Mirror = mirror,
                _dir: Path = size_dir,
                _rows: dict[str, dict[str, Any]] = rows,
            ) -> None:
                _mirror.reset()
                print(f"running {name} ...", flush=True)
                result = run_child(kind, spec, _dir, name, env=env, timeout=timeout)
                result["log"] = classify(_mirror.requests())
                _rows[name] = result

            print(f"mirror warmed (every repo hashed) in {mirror.warm(authors, written):.1f}s", flush=True)
            if not naive:
                step = n / sample_n
                sample = [repos[int(i * step)]["repo"] for i in range(sample_n)]
                naive_env = child_env(work, {})
                naive_spec = {"endpoint": mirror.url, "cache_dir": str(work / "naive-cache"), "repos": sample}
                per_model = 3 * (args.latency + 0.01)
                scenario("naive cold", "naive", naive_spec, naive_env, 60 + sample_n * per_model * 3)
                scenario("naive warm", "naive", naive_spec, naive_env, 60 + sample_n * per_model * 3)
                naive = {k: rows.pop(k) for k in ("naive cold", "naive warm")}

            sync_env = child_env(
                size_dir,
                {
                    "SYNCER_DATABASE_URL": f"sqlite:///{size_dir / 'syncer.store.models'}",
                    "SYNCER_CATALOG": str(catalog),
                    "SYNCER_SNAPSHOT_DIR": str(size_dir / "snapshots"),
                    "SYNCER_HUB_CONCURRENCY": str(args.concurrency),
                    "SYNCER_HUB_PLAN": plan,
                    "HF_ENDPOINT": mirror.url,
                    "HF_HUB_CACHE": str(size_dir / "sync-cache"),
                },
            )
            sync_timeout = 120 + n * 3 * args.latency
            scenario("sync cold", "sync", {}, sync_env, sync_timeout)
            scenario("sync warm", "sync", {}, sync_env, sync_timeout)
            changed = [repos[i]["repo"] for i in range(0, n, round(1 / CHANGED_SHARE))]
            for repo in changed:
                new_commit(repos_root / repo, args.change_file)
            mirror.warm(authors, time.time())  # the changed repos' new commits are known before the run
            scenario(f"sync {CHANGED_SHARE:.0%} changed", "sync", {}, sync_env, sync_timeout)
            mirror.stop()
            mirror = None
            results.append((n, plan, rows, len(changed)))

        assert snapshot_catalog is not None and snapshot_repos is not None
        snapshot_spec = {
            "catalog": str(snapshot_catalog),
            "repos_root": str(snapshot_repos[0]),
            "template_repos": snapshot_repos[1],
            "models": args.snapshot_models,
            "out_dir": str(work / "snapshot-bench"),
            "repeat": 3,
        }
        print(f"running snapshot build at {args.snapshot_models} ...", flush=True)
        snapshot = run_child(
            "snapshot", snapshot_spec, work, "snapshot", env=child_env(work, {}), timeout=600
        )

        print(f"running catalog load at {len(repos)} ...", flush=True)
        catalog_load = run_child("catalog", {"catalog": str(catalog), "repeat": 3}, work, "catalog",
                                 env=child_env(work, {}), timeout=300)  # fmt: skip

        load_end = os.getloadavg()
        print(f"\nmachine: {machine()}")
        print(f"load average (1/5/15 min): {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f} at start,"
              f" {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f} at end")  # fmt: skip
        report(results, naive, snapshot, args, sample_n, catalog_load=catalog_load)
        print(f"\nbenchmark wall time: {time.perf_counter() - started:.0f}s")
        return 0
    except (BenchError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"sync benchmark could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        if mirror is not None:
            mirror.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(results: list[tuple[int, str, dict[str, dict[str, Any]], int]], naive: dict[str, dict[str, Any]],
           snapshot: dict[str, Any], args: argparse.Namespace, sample_n: int, *,
           catalog_load: dict[str, Any]) -> None:  # fmt: skip
    from syncer.settings import PLAN_LIMITS

    # Client CPU per request: the naive loop is nothing but requests through the same client.
    cpu_per_req = {t: naive[f"naive {t}"]["cpu"] / max(1, naive[f"naive {t}"]["log"]["total"]) for t in ("cold", "warm")}  # fmt: skip
    table = []
    computed: dict[tuple[int, str], dict[str, float]] = {}
    for n, _plan, rows, _changed in results:
        scale = n / sample_n
        for name, r in [*naive.items(), *rows.items()]:
            log = r["log"]
            is_naive = name.startswith("naive")
            factor = scale if is_naive else 1.0
            temperature = "cold" if "cold" in name else "warm"
            requests = log["total"] * factor
            wall = r["wall"] * factor
            concurrency = 1 if is_naive else args.concurrency
            ideal = requests * args.latency / concurrency  # the ideal
            baseline = naive[f"naive {temperature}"]["wall"] * scale
            computed[(n, name)] = {
                "wall": wall,
                "requests": requests,
                "ideal": ideal,
                "speedup": baseline / wall,
            }
            label = f"{name} ({sample_n}->{n}, x{scale:g})" if is_naive and scale != 1 else name
            table.append(
                [
                    f"{n:,}",
                    label,
                    f"{wall:.2f}",
                    "-" if is_naive else f"{r['hub_s']:.2f}",
                    f"{log['api_list'] * factor:.0f}/{log['api_info'] * factor:.0f}",
                    f"{log['resolve_head'] * factor:.0f}/{log['resolve_get'] * factor:.0f}",
                    f"{requests:.0f}",
                    f"{requests / n:.3f}",
                    f"{r['cpu'] * factor:.2f}",
                    f"{r['rss_mb']:.0f}",
                    "1.0x" if is_naive else f"{fmt_ratio(baseline / wall)}",
                    f"{ideal:.2f}",
                    fmt_ratio(wall / ideal) if ideal > 0 else "-",
                ]
            )
    headers = ["N", "run", "wall s", "Hub phase s", "api list/info", "resolve HEAD/GET", "requests", "req/model",
               "CPU s", "peak RSS MB", "vs naive", "ideal s", "wall/ideal"]  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    print()
    print(f"{args.latency * 1000:.0f} ms per request, concurrency {args.concurrency}, {args.authors} authors; plans: "
          + ", ".join(f"N={n:,} {plan}" for n, plan, _r, _c in results))  # fmt: skip
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print(
        f"\nnaive rows: measured once on {sample_n} models of the first N and multiplied by N / {sample_n} (the loop"
        " is sequential, so linear extrapolation is exact up to noise); peak RSS is the sample's; vs naive = naive"
        " wall of the same temperature / this wall."
    )
    print(
        f"ideal = requests x latency / concurrency (the issue's); concurrency 1 for the naive"
        f" loop; client CPU per request measured on the naive loop: {cpu_per_req['cold'] * 1000:.2f} ms cold,"
        f" {cpu_per_req['warm'] * 1000:.2f} ms warm (the notes say {NOTES_CPU_PER_REQUEST * 1000:.1f} ms for model_info)."
    )
    print(
        "wall = the run_sync call (catalog load to last commit); Hub phase = its resolve_models (the rest is catalog,"
        " derive, merge, store and snapshot work); CPU s = user+sys of the call; peak RSS = the whole process."
    )
    for n, _plan, rows, _changed in results:
        for name, r in rows.items():
            print(f"  N={n:,} {name}: process wall {r['process_wall']:.2f}s (imports {r['import_s']:.2f}s), exit {r['exit_code']},"
                  f" statuses {r['statuses']}, report requests {r['requests']}"
                  + (f", errors {r['errors']}" if r["errors"] else "") + (f", HELD {r['held']}" if r["held"] else ""))  # fmt: skip
            if r["log"].get("http_errors"):
                print(f"  N={n:,} {name}: {r['log']['http_errors']} non-2xx/3xx answers from the mirror")
    for name, r in naive.items():
        if r.get("failures"):
            print(f"  {name}: {r['failures']} models failed in the naive loop")

    b = snapshot["build"]
    ratio = b["total"] / snapshot["plain_s"]
    print(
        f"\nsnapshot build at {snapshot['entries']} merged entries ({snapshot['openrouter_entries']} in the OpenRouter views,"
        f" {b['bytes'] / 1e6:.1f} MB written in 3 files): render_views + write {b['total']:.3f}s"
        f" (documents, their own rules and rendering {b['render']:.3f}, write {b['write']:.3f})"
        f" vs plain json.dumps {snapshot['plain_s']:.3f}s = {ratio:.1f}x. Not counted: merge_model x{snapshot['entries']}"
        f" {snapshot['merge_s']:.2f}s, of which validating each entry once, when it is made,"
        f" {snapshot['entry_validation_s']:.2f}s (a warm run reuses stored entries and does neither);"
        f" peak RSS {snapshot['rss_mb']:.0f} MB"
    )  # fmt: skip

    c = catalog_load
    print(
        f"catalog load at {c['models']:,} models ({c['bytes'] / 1e6:.1f} MB of TOML): {c['load_s']:.3f}s (parse, validate"
        f" every model once, defaults and digests), of which the TOML parse {c['parse_s']:.3f}s (rtoml); best of 3"
    )

    targets: list[tuple[str, bool | None]] = []  # None: a measurement shown beside the targets (NOTE)
    changed_name = f"sync {CHANGED_SHARE:.0%} changed"
    for n, plan, rows, changed_n in results:
        cold, warm, ch = computed[(n, "sync cold")], computed[(n, "sync warm")], computed[(n, changed_name)]
        cold_rpm, warm_rpm = cold["requests"] / n, warm["requests"] / n
        expect_wall = warm["wall"] + CHANGED_SHARE * cold["wall"]
        peak = max(r["rss_mb"] for r in rows.values())
        if n == 1000 or n == min(x for x, *_ in results):
            targets += [
                (f"N={n:,} warm unchanged >= 100x naive warm: {warm['speedup']:.1f}x", warm["speedup"] >= 100),
                (f"N={n:,} warm unchanged < 0.05 Hub requests per model: {warm_rpm:.3f}", warm_rpm < 0.05),
                (f"N={n:,} cold >= 15x naive cold: {cold['speedup']:.1f}x", cold["speedup"] >= 15),
                (f"N={n:,} cold within 1.3x of ideal: {cold['wall']:.2f}s / {cold['ideal']:.2f}s ="
                 f" {cold['wall'] / cold['ideal']:.2f}x", cold["wall"] <= 1.3 * cold["ideal"]),
                # The issue's "1.1 where the API allows a config at a known commit without a metadata round
                # trip" is the next line; every request beyond it is a further file the derivation reads.
                (f"N={n:,} cold Hub requests per model, every file counted: {cold_rpm:.3f}"
                 f" ({cold['requests'] - n * warm_rpm:.0f} file GETs + {warm['requests']:.0f} listings); above 1.1"
                 f" by the {FLOORS[n] - n} chat templates, processor and sentence-transformers configs the derivation"
                 f" reads (one GET each, at the commit)" if cold_rpm > 1.1 else
                 f"N={n:,} cold Hub requests per model, every file counted: {cold_rpm:.3f} <= 1.1", None),
                (f"N={n:,} cold metadata + config.json requests <= 1.1 per model (the config at its known commit,"
                 f" no metadata round trip): ({rows['sync cold']['log']['api']} listings +"
                 f" {rows['sync cold']['log']['resolve_config']} config.json GETs) / {n} ="
                 f" {(rows['sync cold']['log']['api'] + rows['sync cold']['log']['resolve_config']) / n:.3f}",
                 rows['sync cold']['log']['api'] + rows['sync cold']['log']['resolve_config'] <= 1.1 * n),
                (f"N={n:,} cold requests at the floor (no metadata round trip: the listings, then one GET per file"
                 f" derivation needs, {FLOORS[n]} files = {FLOORS[n] / n:.3f} per model): {cold_rpm:.3f} per model vs"
                 f" floor {(FLOORS[n] + warm['requests']) / n:.3f}", cold["requests"] <= FLOORS[n] + warm["requests"]),
                (f"N={n:,} 5% new commits ({changed_n} repos) within 1.2x of cold x 5% + warm: {ch['wall']:.2f}s vs"
                 f" {expect_wall:.2f}s = {ch['wall'] / expect_wall:.2f}x", ch["wall"] <= 1.2 * expect_wall),
            ]  # fmt: skip
        etas = rows["sync cold"].get("etas") or {}
        if n >= 10000 and "10%" in etas:
            e, hub_s = etas["10%"], rows["sync cold"]["hub_s"]
            off = abs(e["expected_end"] - hub_s) / hub_s
            targets.append(
                (f"N={n:,} cold progress shows the expected finish: at 10% done ({e['elapsed']:.1f}s in) it expected"
                 f" the Hub stage to end at {e['expected_end']:.1f}s; it ended at {hub_s:.1f}s ({off:.0%} off, within"
                 f" 20%)", off <= 0.2)
            )  # fmt: skip
        if n >= 10000:
            targets += [
                (f"N={n:,} warm unchanged < 4 s wall: {warm['wall']:.2f}s", warm["wall"] < 4.0),
                (
                    f"N={n:,} warm unchanged peak RSS < 300 MB: {rows['sync warm']['rss_mb']:.0f} MB (the cold and"
                    f" 5%-changed runs, which hold every entry to render: {peak:.0f} MB at most)",
                    rows["sync warm"]["rss_mb"] < 300,
                ),
            ]
        # The plan's limiter, applied to the request log: every cold run lasts less than one 5-minute window,
        # so a limiter counting from the first request would answer 429 to whatever exceeds the plan's limits.
        api_limit, resolve_limit = PLAN_LIMITS[plan]
        log = rows["sync cold"]["log"]
        over = max(0, log["api"] - api_limit) + max(0, log["resolve"] - resolve_limit)
        in_window = rows["sync cold"]["wall"] < 300
        targets.append(
            (f"N={n:,} cold paced within plan {plan} ({api_limit} API / {resolve_limit} resolver per 5 min) from the"
             f" first request: {log['api']} API + {log['resolve']} resolver requests in {rows['sync cold']['wall']:.0f}s,"
             f" {over} over the limits, {log['http_errors']} error answers",
             in_window and over == 0 and log["http_errors"] == 0)
        )  # fmt: skip
    targets.append(
        (
            f"snapshot build+write at {snapshot['entries']} (3 files) within 2x of json.dumps: {ratio:.1f}x",
            ratio <= 2.0,
        )
    )
    targets.append(
        (f"catalog of {c['models']:,} models parsed and validated well under a second (< 0.5 s): {c['load_s']:.3f}s",
         c["load_s"] < 0.5)
    )  # fmt: skip
    print("\ntargets (issue 17):")
    for text, ok in targets:
        print(f"  {'NOTE' if ok is None else 'PASS' if ok else 'FAIL'}  {text}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        raise SystemExit(child_main(sys.argv[2], sys.argv[3], sys.argv[4]))
    raise SystemExit(main())
