"""The Hub: the one door through which syncer reaches ``huggingface_hub``.

Everything the rest of syncer uses about the Hub is imported from here (``from syncer.hub import ...``),
never from ``huggingface_hub`` and never from this package's modules. The client lives in
:mod:`syncer.hub._client`; the few private ``huggingface_hub`` names it needs are isolated in
:mod:`syncer.hub._compat`. ``tests/test_hub_boundary.py`` holds both rules.
"""

from __future__ import annotations

from huggingface_hub import ModelInfo

from syncer.errors import HubBadBodyError
from syncer.hub._client import (
    BUDGET_WINDOW,
    BULK_EXPAND,
    CONFIG_FILES,
    SHA_RE,
    TEMPLATE_FILES,
    HubClient,
    ListedRepo,
    RepoFacts,
    RequestBudget,
    RequestCounter,
    SpendLedger,
    classify,
    parse_hub_time,
)
from syncer.settings import PLAN_LIMITS

# ``ModelInfo`` is the library's record of one repo; :meth:`HubClient.list_author` gives each repo of a listing
# as a :class:`ListedRepo` (its raw fields, and its ``ModelInfo`` on first use), which :meth:`HubClient.fetch`
# takes back as ``listed``.
__all__ = [
    "BUDGET_WINDOW",
    "BULK_EXPAND",
    "CONFIG_FILES",
    "PLAN_LIMITS",
    "SHA_RE",
    "TEMPLATE_FILES",
    "HubBadBodyError",
    "HubClient",
    "ListedRepo",
    "ModelInfo",
    "RepoFacts",
    "RequestBudget",
    "RequestCounter",
    "SpendLedger",
    "classify",
    "parse_hub_time",
]
