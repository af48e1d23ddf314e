"""Settings: one pydantic-settings class, read from the environment (prefix ``SYNCER_``), validated at start-up.

The Hub is configured the way ``huggingface_hub`` defines it (``HF_ENDPOINT``, ``HF_TOKEN``, ``HF_HOME``);
we read those variables ourselves at start-up and pass them to every call, because the library reads them
only once, at import.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from syncer.errors import SettingsError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

DEFAULT_HF_ENDPOINT = "https://huggingface.co"
DEFAULT_SCHEDULE = "*/30 * * * *"
# The Hub's published rate limits per 5-minute window (API calls, resolver requests), by plan.
PLAN_LIMITS: dict[str, tuple[int, int]] = {
    "anonymous": (500, 3000),
    "free": (1000, 5000),
    "pro": (2500, 12000),
    "team": (3000, 20000),
    "enterprise": (6000, 50000),
}


def parse_schedule(expression: str) -> CronTrigger:
    """A CronTrigger (UTC) from 5 cron fields, or 6 with seconds first. Raises ValueError."""
    from apscheduler.triggers.cron import CronTrigger  # only commands that read the schedule pay for it

    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"{expression!r}: a cron needs 5 fields (minute hour day month weekday) or 6 (seconds first)"
        )
    weekday = fields[-1]
    if re.search(r"(?<![*/])\d", weekday.replace("*/", "*")):
        # cron counts weekdays from Sunday=0, APScheduler from Monday=0: a number would silently shift.
        raise ValueError(f"{expression!r}: write the weekday field with names (mon-fri, sun), not numbers")
    if len(fields) == 5:
        return CronTrigger.from_crontab(" ".join(fields), timezone=UTC)
    second, minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=UTC
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNCER_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///var/syncer.db"
    catalog: Path = Path("config/catalog.toml")
    snapshot_dir: Path = Path("var/snapshots")
    log_format: Literal["text", "json"] = "text"

    # Hub access
    hub_timeout: float = Field(10.0, gt=0, le=600, description="seconds, connect and read, per Hub call")
    hub_retries: int = Field(2, ge=0, le=10, description="extra attempts after a transient Hub failure")
    hub_retry_backoff: float = Field(0.5, ge=0, le=60, description="first backoff in seconds (doubles)")
    hub_model_deadline: float = Field(60.0, gt=0, description="seconds one model may cost a run at most")
    hub_concurrency: int = Field(16, ge=1, le=256)
    hub_plan: Literal["anonymous", "free", "pro", "team", "enterprise"] | None = Field(
        None,
        description="the Hub plan whose rate limits to pace below (default: anonymous, or free with a token)",
    )
    hub_api_budget: int | None = Field(None, ge=1, description="API calls per 5 minutes (overrides the plan)")
    hub_resolve_budget: int | None = Field(None, ge=1, description="file requests per 5 minutes (overrides)")
    hub_bulk_min_models: int = Field(
        2,
        ge=0,
        description="list an author's repos in one call when the catalog has this many of them (0: off)",
    )
    max_config_bytes: int = Field(2_000_000, ge=1024, description="size cap of config-like Hub files")
    max_template_bytes: int = Field(8_000_000, ge=1024, description="size cap of tokenizer_config.json")

    # Scheduling and health (`syncer schedule`, `syncer status`, metrics)
    schedule: str = Field(DEFAULT_SCHEDULE, description="cron: 5 fields, or 6 with seconds first (UTC)")
    schedule_misfire_grace: float = Field(300.0, gt=0, description="seconds a late tick may still run (once)")
    stop_grace: float = Field(300.0, gt=0, description="seconds a stopping scheduler waits for its run")
    status_max_age: float = Field(7200.0, gt=0, description="`syncer status` fails past this success age")
    metrics_textfile: Path | None = Field(None, description="Prometheus textfile written after each run")

    # Publish guard and stale policy
    publish_max_removed_share: float = Field(
        0.10, ge=0, le=1, description="hold a publish that removes more than this share of the listing"
    )
    stale_drop_after_runs: int = Field(
        3, ge=1, description="drop a not-found model after this many failed runs"
    )
    stale_drop_after_days: float | None = Field(None, gt=0, description="...or after it was stale this long")
    stale_not_ready_after_hours: float | None = Field(
        None, gt=0, description="list a stale model with is_ready=false after this many hours (unset: never)"
    )

    # `syncer serve`
    api_token: SecretStr | None = Field(
        None, description="bearer token required for ?format=openrouter; unset/empty = open"
    )
    serve_max_snapshot_age: float = Field(
        0,
        ge=0,
        description="seconds since a snapshot file was written before /healthz says 503; 0 = no limit",
    )
    serve_reload_interval: float = Field(1.0, gt=0, le=3600, description="seconds between snapshot polls")
    serve_cache_max_age: int = Field(10, ge=0, le=86400, description="Cache-Control max-age of listings")
    serve_max_connections: int = Field(
        1000, ge=1, le=1_000_000, description="open connections per process; a request beyond gets 503"
    )
    serve_max_header_bytes: int = Field(
        16384, ge=1024, le=1_048_576, description="bytes of one request line and headers; beyond: 431"
    )
    serve_header_timeout: float = Field(
        10.0, gt=0, le=3600, description="seconds for a request's line and headers to arrive; beyond: 408"
    )
    serve_keep_alive: int = Field(
        5, ge=1, le=3600, description="seconds an idle keep-alive connection stays open"
    )

    hf_endpoint: str = Field(
        DEFAULT_HF_ENDPOINT, validation_alias=AliasChoices("HF_ENDPOINT", "SYNCER_HF_ENDPOINT")
    )
    hf_token: SecretStr | None = Field(None, validation_alias=AliasChoices("HF_TOKEN", "SYNCER_HF_TOKEN"))
    hf_home: Path | None = Field(None, validation_alias=AliasChoices("HF_HOME"))
    hf_hub_cache: Path | None = Field(None, validation_alias=AliasChoices("HF_HUB_CACHE"))

    @field_validator("hf_endpoint")
    @classmethod
    def _strip_endpoint(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        normalized = " ".join(value.split())
        if normalized != DEFAULT_SCHEDULE:  # the default is known good: skip importing APScheduler for it
            parse_schedule(value)  # raises ValueError naming the problem
        return normalized

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "mysql", "mariadb")):
            raise ValueError("must be a sqlite://, postgresql+psycopg:// or mysql+pymysql:// URL")
        return value

    @property
    def hub_cache_dir(self) -> Path:
        if self.hf_hub_cache is not None:
            return self.hf_hub_cache
        home = self.hf_home or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface"
        return home / "hub"

    @property
    def hub_budget(self) -> dict[str, int]:
        """Requests per 5-minute window the worker allows itself: 90% of the plan's published limits."""
        plan = self.hub_plan or ("free" if self.hf_token else "anonymous")
        api, resolve = PLAN_LIMITS[plan]
        return {
            "api": self.hub_api_budget or int(api * 0.9),
            "resolve": self.hub_resolve_budget or int(resolve * 0.9),
        }

    @property
    def token(self) -> str | None:
        return self.hf_token.get_secret_value() if self.hf_token else None


# Variables under these prefixes belong to the test suite, the demo, the crash test and the benchmarks, not to
# the worker: they are never settings, so an unknown one is not a typo.
NOT_SETTINGS_PREFIXES = ("SYNCER_TEST_", "SYNCER_DEMO_", "SYNCER_CRASH_", "SYNCER_BENCH_")


def known_variables() -> list[str]:
    """Every environment variable a setting is read from (``SYNCER_*`` and the Hub's own ``HF_*``)."""
    names: list[str] = []
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.extend(str(choice) for choice in alias.choices)
        else:
            names.append("SYNCER_" + field_name.upper())
    return names


def unknown_variables(environ: dict[str, str] | None = None) -> list[str]:
    """One problem line per ``SYNCER_*`` variable that is no setting, naming the closest known one."""
    env = os.environ if environ is None else environ
    known = known_variables()
    problems = []
    for raw in sorted(env):
        name = raw.upper()  # pydantic-settings reads the environment case-insensitively
        if not name.startswith("SYNCER_") or name.startswith(NOT_SETTINGS_PREFIXES) or name in known:
            continue
        bare = name.removeprefix("SYNCER_")  # SYNCER_HF_HOME for the Hub's own HF_HOME
        close = [bare] if bare in known else difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = (
            f"did you mean {close[0]}?"
            if close
            else "no setting has a similar name (see the README, Settings)"
        )
        problems.append(f"{raw}={env[raw]!r}: unknown setting; {hint}")
    return problems


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; a bad or unknown variable becomes a :class:`SettingsError` naming it."""
    unknown = unknown_variables()
    if unknown:
        raise SettingsError("invalid settings:\n" + "\n".join(f"  - {p}" for p in unknown))
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "SYNCER_" + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems)) from None
