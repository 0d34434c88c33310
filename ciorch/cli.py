"""The ``ciorch`` command: parse options, call the engine, render. Errors reach the user
in one place (``CiorchGroup.invoke``): ``Error: <what> (<where>)`` on stderr, exit 1."""

from __future__ import annotations

__all__ = ["main"]

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from ciorch import __version__
from ciorch.adapters.images import list_images
from ciorch.config import Fleet, load_fleet, schema, validate_paths
from ciorch.engine.context import open_engine
from ciorch.engine.masters import master_status, upgrade_masters
from ciorch.engine.onboard import offboard_team, onboard_team, result_json
from ciorch.errors import CiorchError, ConfigError, NotFoundError
from ciorch.model import TeamId
from ciorch.store import Store

OUTPUT = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts.",
)


class CiorchGroup(click.Group):
    """Turns every CiorchError into ``Error: ...`` on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            count = len(exc.problems)
            click.echo(
                f"Error: invalid configuration ({count} problem{'s' if count != 1 else ''})",
                err=True,
            )
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            ctx.exit(1)
        except CiorchError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


def _emit(data: Any, output: str, text: str) -> None:
    if output == "json":
        click.echo(json.dumps(data, indent=2, default=str, sort_keys=True))
    else:
        click.echo(text)


@click.group(cls=CiorchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ciorch")
@click.option(
    "--config",
    "-c",
    "config_path",
    envvar="CIORCH_CONFIG",
    type=click.Path(path_type=Path),
    default=Path("ciorch.yaml"),
    show_default=True,
    help="Controller configuration (ciorch.yaml); its teams_dir holds the teams.",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path) -> None:
    """ciorch runs CI for a whole company on Jenkins.

    Every team gets its own Jenkins master from a prebuilt image; environment-sensitive
    builds get a throwaway agent container each; time-sensitive test jobs run on a warm
    pool of agents resized by usage; SVN and Git hooks trigger the builds. It runs on
    the local Docker engine or on Marathon.

    Settings come from ciorch.yaml (see `ciorch config schema controller`); CIORCH_*
    environment variables override some of them (CIORCH_CONFIG, CIORCH_STATE_PATH,
    CIORCH_LISTEN, CIORCH_RUNTIME, CIORCH_MARATHON_URL, CIORCH_MASTER_IMAGE,
    CIORCH_OWNER).
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


# ---------------------------------------------------------------- config


@main.group(cls=CiorchGroup)
def config() -> None:
    """Check and explain configuration files.

    ciorch.yaml configures the controller (runtime, state, listen address, webhook
    secret, caps); teams/<team>.yaml configures one team (master, agent templates by
    label, quotas, repositories, jobs).
    """


@config.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@OUTPUT
def config_validate(paths: tuple[Path, ...], output: str) -> None:
    """Validate configuration files and folders; print every problem.

    A folder with a ciorch.yaml means that controller and its teams; a folder without
    one, every *.yaml in it as a team. Exits 0 when all is valid, 1 otherwise, and never
    changes anything.
    """
    problems = validate_paths(list(paths))
    if output == "json":
        _emit({"valid": not problems, "problems": [asdict(p) for p in problems]}, output, "")
    elif problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem(s) found", err=True)
    else:
        fleet = load_fleet(list(paths))
        where = fleet.controller.source if fleet.controller else "no controller file"
        click.echo(f"valid: {where}, {len(fleet.teams)} team(s)")
        for team in fleet.teams:
            click.echo(
                f"  {team.name}: {len(team.agents)} agent template(s), "
                f"{len(team.jobs)} job(s), {len(team.repositories)} repository(ies)"
            )
    sys.exit(1 if problems else 0)


@config.command("schema")
@click.argument("kind", type=click.Choice(["controller", "team"]))
def config_schema(kind: str) -> None:
    """Print the JSON Schema for ciorch.yaml (controller) or a team file."""
    click.echo(json.dumps(schema(kind), indent=2))


# ---------------------------------------------------------------- groups of later layers


@main.group(cls=CiorchGroup)
def team() -> None:
    """Onboard, list, show and offboard teams (one Jenkins master each)."""


def _controller_fleet(ctx: click.Context, *extra: Path) -> Fleet:
    """ciorch.yaml (and its teams) plus ``extra`` team files, validated together;
    nothing is touched when any of it is invalid."""
    config_path: Path = ctx.obj["config_path"]
    if not config_path.is_file():
        what = "is a folder, not a file" if config_path.is_dir() else "not found"
        raise CiorchError(
            f"controller configuration {what} (pass --config FILE or set CIORCH_CONFIG)",
            where=str(config_path),
        )
    fleet = load_fleet(list(extra), controller=config_path)
    assert fleet.controller is not None
    return fleet


def _progress(message: str) -> None:
    click.echo(message, err=True)


@team.command("onboard")
@click.argument("team_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1, max=86400),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the master to become healthy.",
)
@click.option(
    "--secret-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a new admin password to this file (mode 0600) instead of printing it.",
)
@OUTPUT
@click.pass_context
def team_onboard(
    ctx: click.Context,
    team_file: Path,
    dry_run: bool,
    timeout: float,
    secret_file: Path | None,
    output: str,
) -> None:
    """Give the team in TEAM_FILE its own Jenkins master with its jobs.

    Validates the file (with every other team), deploys the master on the configured
    runtime (JENKINS_HOME on a persistent volume, health check on /login), waits for it,
    creates the admin credential, applies Configuration-as-Code and creates or updates
    the team's jobs from job_templates/. Running it again changes only what differs. A
    first onboarding that fails removes what it made.
    """
    if secret_file is not None:
        folder = secret_file.absolute().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise click.UsageError(
                f"--secret-file: folder {folder} does not exist or is not writable"
            )
    fleet = _controller_fleet(ctx, team_file)
    spec = fleet.team(team_file.stem)
    if spec is None:
        raise CiorchError("no team defined in this file", where=str(team_file))
    assert fleet.controller is not None
    with open_engine(fleet.controller, progress=_progress, exclusive=True) as engine:
        result = onboard_team(engine, spec, dry_run=dry_run, timeout=timeout)
    if output == "json":
        _emit(result_json(result), output, "")
    else:
        click.echo("\n".join(result.plan.describe()))
    if not result.applied:
        click.echo("(dry run: nothing changed)", err=True)
        return
    if output == "text":
        click.echo(f"master:   {result.url}  (user {result.admin_user})")
        click.echo(f"jobs:     {', '.join(result.jobs) or 'none'}")
        click.echo(
            "agents:   " + ", ".join(f"{a.label} ({a.agent_class})" for a in spec.agents.values())
        )
    if result.new_secret is not None:
        try:
            if secret_file is None:
                raise OSError("no --secret-file")
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                os.fchmod(out.fileno(), 0o600)
                out.write(result.new_secret + "\n")
            click.echo(f"admin password written to {secret_file} (mode 0600)", err=True)
        except OSError as exc:
            if secret_file is not None:
                click.echo(f"cannot write {secret_file} ({exc.strerror or exc})", err=True)
            click.echo(f"admin password (shown once): {result.new_secret}", err=True)


@team.command("list")
@OUTPUT
@click.pass_context
def team_list(ctx: click.Context, output: str) -> None:
    """Teams ciorch has onboarded, with their masters."""
    fleet = _controller_fleet(ctx)
    assert fleet.controller is not None
    if not fleet.controller.state_path.exists():
        _emit([], output, "no teams onboarded")
        return
    with Store.open(fleet.controller.state_path) as store:
        masters = {m.team: m for m in store.list_masters()}
        rows: list[dict[str, Any]] = [
            {
                "team": t.name,
                "master": masters[t.name].state.value if t.name in masters else "none",
                "url": masters[t.name].url if t.name in masters else None,
                "image": masters[t.name].image if t.name in masters else None,
                "jobs": sorted(store.managed_jobs(t.name)),
            }
            for t in store.list_teams()
        ]
    text = "\n".join(
        f"{r['team']:<20} {r['master']:<10} {r['url'] or '-':<28} {len(r['jobs'])} job(s)"
        for r in rows
    )
    _emit(rows, output, text or "no teams onboarded")


@team.command("show")
@click.argument("name")
@OUTPUT
@click.pass_context
def team_show(ctx: click.Context, name: str, output: str) -> None:
    """One team: its master, jobs and agent templates."""
    fleet = _controller_fleet(ctx)
    assert fleet.controller is not None
    if not fleet.controller.state_path.exists():
        raise NotFoundError("no such team", where=f"team {name}")
    with Store.open(fleet.controller.state_path) as store:
        record = store.get_team(TeamId(name))
        try:
            master: dict[str, Any] | None = asdict(store.get_master(TeamId(name)))
        except NotFoundError:
            master = None
        jobs = sorted(store.managed_jobs(TeamId(name)))
    spec = json.loads(record.spec_json)
    data = {
        "team": name,
        "source": record.source,
        "master": master,
        "jobs": jobs,
        "agents": spec.get("agents", {}),
    }
    lines = [f"team {name} ({record.source})"]
    if master:
        lines.append(f"  master {master['state']} {master['url'] or '-'} image {master['image']}")
    lines.append(f"  jobs: {', '.join(jobs) or 'none'}")
    lines += [f"  agents {label}: {a['class']} {a['image']}" for label, a in data["agents"].items()]
    _emit(data, output, "\n".join(lines))


@team.command("offboard")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also delete the JENKINS_HOME volume.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@click.pass_context
def team_offboard(ctx: click.Context, name: str, purge: bool, dry_run: bool) -> None:
    """Remove a team's master and agents. JENKINS_HOME is kept unless --purge."""
    fleet = _controller_fleet(ctx)
    assert fleet.controller is not None
    with open_engine(fleet.controller, progress=_progress, exclusive=True) as engine:
        lines = offboard_team(engine, name, purge=purge, dry_run=dry_run)
    click.echo("\n".join(lines))
    if dry_run:
        click.echo("(dry run: nothing changed)", err=True)


@main.group(cls=CiorchGroup)
def masters() -> None:
    """Status and fleet-wide upgrades of the teams' Jenkins masters."""


@masters.command("status")
@OUTPUT
@click.pass_context
def masters_status(ctx: click.Context, output: str) -> None:
    """Every team's master: recorded state and image, and what the runtime reports now."""
    fleet = _controller_fleet(ctx)
    assert fleet.controller is not None
    with open_engine(fleet.controller) as engine:
        rows = master_status(engine)
    text = "\n".join(
        f"{r.team:<20} {r.state:<12} {r.healthy}/{max(r.running, 1)} healthy  {r.image:<36} "
        f"{r.url or '-'}"
        for r in rows
    )
    _emit([asdict(r) for r in rows], output, text or "no masters")


@masters.command("upgrade")
@click.option("--image", required=True, help="The new master image for every team.")
@click.option("--canary", help="Team upgraded first, alone (default: the first by name).")
@click.option(
    "--wave-size",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Teams upgraded together after the canary.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1, max=86400),
    default=300.0,
    show_default=True,
    help="Seconds each master has to come back healthy with all its jobs.",
)
@click.option("--dry-run", is_flag=True, help="Print the waves; change nothing.")
@OUTPUT
@click.pass_context
def masters_upgrade(
    ctx: click.Context,
    image: str,
    canary: str | None,
    wave_size: int,
    timeout: float,
    dry_run: bool,
    output: str,
) -> None:
    """Roll a new master image to every team: the canary first, then in waves.

    JENKINS_HOME is kept. A master that does not come back healthy with all its jobs
    within --timeout is put back on its previous image, and the rollout stops with a
    report (exit status 1); later teams are left untouched.
    """
    fleet = _controller_fleet(ctx)
    assert fleet.controller is not None
    with open_engine(fleet.controller, progress=_progress, exclusive=True) as engine:
        report = upgrade_masters(
            engine,
            fleet,
            image,
            canary=canary,
            wave_size=wave_size,
            dry_run=dry_run,
            timeout=timeout,
        )
    data = {"completed": report.completed, "applied": report.applied, "report": report.lines}
    _emit(data, output, "\n".join(report.lines))
    if dry_run:
        click.echo("(dry run: nothing changed)", err=True)
    elif not report.completed:
        raise CiorchError("the upgrade stopped; see the report above", where=image)


@main.group(cls=CiorchGroup)
def pool() -> None:
    """Warm agent pools: sizes, usage history and the sizing plan."""


@main.group(cls=CiorchGroup)
def hooks() -> None:
    """Install SVN post-commit and Git post-receive hooks; list received hook events."""


@main.group(cls=CiorchGroup)
def trigger() -> None:
    """Trigger a team's jobs for a commit by hand, as a hook would."""


@main.group(cls=CiorchGroup)
def images() -> None:
    """List the master and agent images built with make, with their labels."""


@images.command("list")
@click.option("--registry", help="Show digests in this registry (host:port) only.")
@OUTPUT
def images_list(registry: str | None, output: str) -> None:
    """Images built by `make images` (labelled ciorch.guid): tags, revision, GUID,
    creation time and registry digests."""
    found = list_images(registry=registry)
    text = "\n".join(
        f"{i.name:<28} {i.version or '-':<22} {i.revision[:10] if i.revision else '-':<10} "
        f"{i.created or '-':<20} {'pushed' if i.pushed else 'local'}"
        for i in found
    )
    _emit([i.to_json() for i in found], output, text or "no ciorch images built (make images)")


@main.command()
@click.option("--dry-run", is_flag=True, help="Load configuration and print what would run.")
@click.pass_context
def serve(ctx: click.Context, dry_run: bool) -> None:
    """Run the controller service: HTTP API, webhooks, dashboard and the loops that
    keep masters, throwaway agents and pools as configured."""
    fleet = _controller_fleet(ctx)
    assert fleet.controller is not None
    if dry_run:
        click.echo(
            f"would listen on {fleet.controller.listen}, runtime {fleet.controller.runtime}, "
            f"state {fleet.controller.state_path}, teams: " + ", ".join(t.name for t in fleet.teams)
        )
        return
    raise CiorchError("the controller service is not built yet", where="ciorch serve")
