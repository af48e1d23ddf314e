"""The three views a run publishes, each with the validator of one entry and of the whole document."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from syncer.formats.catalog_view import validate_catalog_document, validate_catalog_entry
from syncer.formats.openrouter import validate_openrouter_document, validate_openrouter_entry
from syncer.formats.openrouter_v2 import validate_openrouter_v2_document, validate_openrouter_v2_entry


class View(StrEnum):
    """A published view, by the name the snapshot files, the store and ``--format`` use."""

    OPENROUTER = "openrouter"
    CATALOG = "catalog"
    OPENROUTER_V2 = "openrouter-v2"


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)  # json.dumps would build one per call


def encode_json(value: Any) -> str:
    """The one JSON text of a view's entry (and of every other part of a snapshot file): UTF-8 as is, no NaN,
    keys in the order built. An entry is encoded once, when it is merged (``syncer.listing.Merged.texts``);
    its digest, its store row and its line in the file are that text."""
    return _ENCODER.encode(value)


#: every rule one entry of the view must obey (each entry is checked once, when it is made)
ENTRY_VALIDATORS: dict[View, Callable[[Mapping[str, Any]], list[str]]] = {
    View.OPENROUTER: validate_openrouter_entry,
    View.CATALOG: validate_catalog_entry,
    View.OPENROUTER_V2: validate_openrouter_v2_entry,
}

#: every rule of the whole document; ``entries=False`` skips the entries' own rules
DOCUMENT_VALIDATORS: dict[View, Callable[..., list[str]]] = {
    View.OPENROUTER: validate_openrouter_document,
    View.CATALOG: validate_catalog_document,
    View.OPENROUTER_V2: validate_openrouter_v2_document,
}
