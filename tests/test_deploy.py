"""The deployment recipes (deploy/, shown verbatim in the README) parse and say what they should."""

from __future__ import annotations

import configparser
import re
import shlex
import warnings
from pathlib import Path
from types import SimpleNamespace

import click
import yaml
from apscheduler.triggers.cron import CronTrigger
from conftest import PROJECT_ROOT

from syncer.cli import syncer as syncer_command

DEPLOY = PROJECT_ROOT / "deploy"
README = (PROJECT_ROOT / "README.md").read_text()
CRON_LINE = re.compile(r"^(?P<when>(?:\S+\s+){4}\S+)\s+(?P<user>[a-z_][a-z0-9_-]*)\s+(?P<command>.+)$")


def _syncer_args(command: str) -> list[list[str]]:
    """Every `syncer ...` invocation in a shell command, as argv after the program name."""
    found = []
    for part in re.split(r"&&|\|\||;|\|", command):
        words = shlex.split(part.split(">")[0])
        if words and words[0].endswith("/syncer"):
            found.append(words[1:])
    return found


def parse(argv: list[str]) -> SimpleNamespace:
    """What the real command line makes of ``argv`` (click resolves each command; nothing runs):
    ``command``, ``action`` (the subcommand, if any) and every option's value."""

    def rest_of(ctx: click.Context) -> list[str]:
        with warnings.catch_warnings():  # click 8.2+ deprecates protected_args (9.0 folds it into args)
            warnings.simplefilter("ignore", DeprecationWarning)
            return [*ctx.protected_args, *ctx.args]

    ctx = syncer_command.make_context("syncer", list(argv))
    names: list[str] = []
    params: dict[str, object] = {}
    command, rest = syncer_command, rest_of(ctx)
    while isinstance(command, click.Group) and rest:
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        names.append(name)
        params |= ctx.params
        command, rest = sub, rest_of(ctx)
    return SimpleNamespace(command=names[0], action=names[1] if len(names) > 1 else None, **params)


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def test_every_recipe_is_shown_verbatim_in_the_readme():
    recipes = sorted(DEPLOY.iterdir())
    assert [p.name for p in recipes] == [
        "kubernetes-cronjob.yaml", "syncer-schedule.service", "syncer.cron", "syncer.service", "syncer.timer",
    ]  # fmt: skip
    for path in recipes:
        assert path.read_text().strip() in README, f"README does not show {path.name} as it is"


def test_cron_recipe():
    lines = [
        line
        for line in (DEPLOY / "syncer.cron").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    jobs = [CRON_LINE.match(line) for line in lines if "=" not in line.split()[0]]
    assert len(jobs) == 2 and all(jobs)
    commands = []
    for job in jobs:
        assert job is not None
        CronTrigger.from_crontab(job["when"])  # a valid cron expression
        assert job["user"] == "syncer"
        commands += _syncer_args(job["command"])
    assert [parse(args).command for args in commands] == ["sync", "status", "status"]
    assert CronTrigger.from_crontab(jobs[0]["when"]).fields[6].expressions[0].step == 30  # minute */30


def test_systemd_oneshot_service_and_timer():
    service = _unit(DEPLOY / "syncer.service")
    assert service["Service"]["Type"] == "oneshot"
    start = shlex.split(service["Service"]["ExecStart"])
    args = parse(start[1:])
    assert (args.command, args.action) == ("sync", "now")
    assert set(service["Service"]["SuccessExitStatus"].split()) == {"1", "75"}
    timer = _unit(DEPLOY / "syncer.timer")
    assert timer["Timer"]["Unit"] == "syncer.service"
    assert timer["Timer"]["Persistent"] == "true"
    assert re.fullmatch(r"\*:0/30", timer["Timer"]["OnCalendar"])
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_long_running_scheduler():
    unit = _unit(DEPLOY / "syncer-schedule.service")
    start = shlex.split(unit["Service"]["ExecStart"])
    args = parse(start[1:])
    assert (args.command, args.run_now, args.metrics_port) == ("schedule", True, 9464)
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    # systemd must wait longer than the scheduler's own stop grace before SIGKILL.
    from syncer.settings import Settings

    assert int(unit["Service"]["TimeoutStopSec"]) > Settings().stop_grace


def test_kubernetes_cronjob():
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes-cronjob.yaml").read_text()))
    assert len(documents) == 1
    job = documents[0]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "CronJob")
    spec = job["spec"]
    CronTrigger.from_crontab(spec["schedule"])
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    args = parse(container["args"])
    assert (args.command, args.action) == ("sync", "now")
    env = {e["name"]: e for e in container["env"]}
    db = env["SYNCER_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert db["name"] and db["key"], "the PostgreSQL URL comes from a Secret"
    assert "postgresql+psycopg://" in (DEPLOY / "kubernetes-cronjob.yaml").read_text()
    mounts = {m["name"] for m in container["volumeMounts"]}
    assert mounts == {v["name"] for v in pod["volumes"]}
