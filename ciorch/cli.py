"""The ``ciorch`` command: parse options, call the engine, render. Errors reach the user
in one place (``CiorchGroup.invoke``): ``Error: <what> (<where>)`` on stderr, exit 1."""

from __future__ import annotations

__all__ = ["main"]

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from ciorch import __version__
from ciorch.config import load_fleet, schema, validate_paths
from ciorch.errors import CiorchError, ConfigError

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
            click.echo(f"Error: invalid configuration ({len(exc.problems)} problems)", err=True)
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
    CIORCH_LISTEN, CIORCH_RUNTIME, CIORCH_MARATHON_URL).
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


@main.group(cls=CiorchGroup)
def masters() -> None:
    """Status and fleet-wide upgrades of the teams' Jenkins masters."""


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


@main.command()
@click.option("--dry-run", is_flag=True, help="Load configuration and print what would run.")
@click.pass_context
def serve(ctx: click.Context, dry_run: bool) -> None:
    """Run the controller service: HTTP API, webhooks, dashboard and the loops that
    keep masters, throwaway agents and pools as configured."""
    fleet = load_fleet([ctx.obj["config_path"]])
    assert fleet.controller is not None
    if dry_run:
        click.echo(
            f"would listen on {fleet.controller.listen}, runtime {fleet.controller.runtime}, "
            f"state {fleet.controller.state_path}, teams: " + ", ".join(t.name for t in fleet.teams)
        )
        return
    raise CiorchError("the controller service is not built yet", where="ciorch serve")
