"""The official OpenAI Python SDK, pointed at `syncer serve` on 127.0.0.1, over snapshots produced by a real
sync of config/catalog.toml against the local Hub mirror: it lists every catalog model and retrieves each."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from syncer.serve import ServerThread
from syncer.settings import Settings
from syncer.sync import run_sync
from syncer_mirror import HubMirror

EXAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "config" / "catalog.toml"


def test_openai_sdk_lists_and_retrieves_every_catalog_model(
    tmp_path: Path, mirror: HubMirror, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url)
    report = run_sync(settings=settings)
    assert report.exit_code == 0

    catalog_ids = sorted(m["id"] for m in tomllib.loads(EXAMPLE_CATALOG.read_text())["models"])
    published = json.loads((settings.snapshot_dir / "catalog.json").read_bytes())["data"]
    assert sorted(e["id"] for e in published) == catalog_ids

    with ServerThread(settings) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=10)

        listed = list(client.models.list())
        assert sorted(m.id for m in listed) == catalog_ids
        assert len(listed) == len(catalog_ids)
        for model in listed:
            assert model.object == "model"
            assert isinstance(model.created, int) and model.created > 0
            assert model.owned_by

        by_id = {e["id"]: e for e in published}
        for model_id in catalog_ids:
            model = client.models.retrieve(model_id)
            assert model.id == model_id
            assert model.owned_by == by_id[model_id]["owned_by"]
            assert model.created == by_id[model_id]["created"]
            # The catalog's own fields come through the SDK's model object as extras.
            assert model.model_dump()["display_name"] == by_id[model_id]["display_name"]

        with pytest.raises(openai.NotFoundError) as raised:
            client.models.retrieve("no-such-model")
        assert raised.value.status_code == 404
        assert raised.value.code == "model_not_found"
