"""One Hub rate budget for every run of one database, and warm runs that cost no per-model request.

Request counts, never times: the mirror's request log says what reached the Hub, the store says what the
shared window holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalogs import catalog_toml

from syncer.store import Store
from syncer.sync import run_sync

# Four repos of four authors: with the bulk listing off, each model costs exactly one API call (model_info).
FOUR = {
    "qwen": "Qwen/Qwen3.5-9B",
    "gemma": "google/gemma-2-9b-it",
    "phi": "microsoft/phi-4",
    "gpt": "openai/gpt-oss-20b",
}


def _api(hub) -> list[str]:
    return [str(r["path"]) for r in hub.requests() if r["kind"] == "api"]


def test_warm_unchanged_sync_of_the_fixture_catalog_makes_no_per_model_request(
    mirror, make_settings, tmp_path
) -> None:
    # Every author listed in one call (the setting's floor of 1): the fixture catalog has one model per author.
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url, hub_bulk_min_models=1
    )
    cold = run_sync(settings=settings)
    assert cold.exit_code == 0, [o.error for o in cold.failed]
    mirror.reset()

    warm = run_sync(settings=settings)

    assert {o.status for o in warm.outcomes} == {"unchanged"}
    api = _api(mirror)
    per_model = [p for p in api if p.startswith("/api/models/")]
    assert per_model == [], f"per-model API calls on a warm unchanged run: {per_model}"
    authors = {o.model_id for o in warm.outcomes}  # one listing per author at most, never per model
    assert 1 <= len(api) <= len(authors)
    assert [r for r in mirror.requests() if r["kind"] == "resolve"] == [], "no file request on a warm run"


def test_two_runs_inside_one_window_share_its_budget(
    database_url, repo_tree, private_mirror, make_settings, tmp_path: Path
) -> None:
    hub = private_mirror(repo_tree(*FOUR.values()))
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(catalog_toml(FOUR))
    settings = make_settings(database_url=database_url, endpoint=hub.url, catalog=catalog,
                             hub_bulk_min_models=0, hub_concurrency=1, hub_api_budget=6)  # fmt: skip
    first = run_sync(settings=settings)
    assert first.exit_code == 0, [o.error for o in first.failed]
    assert first.requests["api"] == 4
    hub.reset()

    second = run_sync(settings=settings)  # a new process would do the same: the spend is in the store

    assert len(_api(hub)) == 2, "the second run may spend only what the first left of the window's 6"
    over = [o for o in second.outcomes if o.error_kind]
    assert len(over) == 2 and all("budget" in (o.error or "") for o in over), [o.error for o in over]
    with Store.open(database_url) as store:
        window = store.hub_spent_since(datetime.now(UTC) - timedelta(minutes=5))
    assert sum(n for kind, _, n in window if kind == "api") == 6
    assert sum(n for kind, _, n in window if kind == "resolve") == first.requests["resolve"]


def test_the_expected_finish_waits_for_the_budget(tmp_path: Path) -> None:
    from syncer.hub import HubClient, RequestBudget
    from syncer.resolve import estimate_eta

    now = datetime(2025, 1, 1, tzinfo=UTC)
    budget = RequestBudget({"resolve": 4}, clock=lambda: 1000.0, wall=lambda: now)
    client = HubClient(endpoint="http://127.0.0.1:9", token=None, cache_dir=tmp_path, budget=budget)
    for _ in range(4):  # two models done, two requests each: the window's 4 are spent
        budget.spend("resolve")
        client.counter.add_request("resolve")

    eta = estimate_eta(client, done=2, total=4, elapsed=1.0, now=now)

    assert eta.budget_wait == 300.0, "the next 4 requests fit only when the window has moved on"
    assert eta.remaining == 300.0 and eta.finish_at == now + timedelta(seconds=300)
    assert estimate_eta(client, done=4, total=4, elapsed=2.0, now=now).remaining == 0.0
    assert RequestBudget({"resolve": 4}).time_until("resolve", 9) == 600.0, "two more full windows"
