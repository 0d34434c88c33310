"""Loading and validating ciorch.yaml and teams/<team>.yaml.

Three passes, every problem collected before anything is reported: read (YAML syntax,
duplicate keys), schema (``ciorch/schemas/*.json``, jsonschema), then the rules a schema
cannot say (a job's label must name one of the team's agent templates, two teams cannot
claim one repository, ...). Every problem names file, line, path and what is wrong:
``teams/karaoke.yaml:14 agents.build-php.cpus: -1 is less than the minimum of 0.1``.
"""

from __future__ import annotations

__all__ = ["discover", "load_fleet", "schema", "validate_paths"]

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ciorch.config.source import Source, read_yaml
from ciorch.config.spec import (
    AgentTemplate,
    Caps,
    ControllerConfig,
    DockerSettings,
    Fleet,
    JobSpec,
    MarathonSettings,
    MasterSpec,
    PoolSettings,
    Quotas,
    RepoRoute,
    Repository,
    SecretRef,
    TeamSpec,
)
from ciorch.errors import ConfigError, ConfigProblem

CONTROLLER_NAMES = ("ciorch.yaml", "ciorch.yml")
_REQUIRED = re.compile(r"^'(.+)' is a required property$")
_CUSTOM_MESSAGE_KEYWORDS = {"pattern", "minProperties", "maxProperties", "minItems", "maxItems"}


def _is_integer(checker: object, instance: object) -> bool:
    # JSON Schema counts 2.0 as an integer; ports, counts and sizes here must be written
    # as whole numbers, since they are used as such.
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@cache
def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema ``controller`` or ``team`` shipped in ``ciorch/schemas``."""
    text = resources.files("ciorch.schemas").joinpath(f"{kind}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _display(path: Path) -> str:
    """A path as the user should read it: relative when under the working folder."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return os.path.normpath(absolute)


# ---------------------------------------------------------------- schema pass


def _schema_problems(source: Source, kind: str) -> list[ConfigProblem]:
    validator = _Validator(schema(kind))
    problems: list[ConfigProblem] = []
    for err in validator.iter_errors(source.data):
        path = tuple(err.absolute_path)
        problems.extend(_translate(source, path, err))
    problems.sort(key=lambda p: (p.line or 0, p.path))
    return problems


def _translate(
    source: Source, path: tuple[str | int, ...], err: jsonschema.ValidationError
) -> list[ConfigProblem]:
    sub = err.schema if isinstance(err.schema, Mapping) else {}
    if err.validator == "required":
        match = _REQUIRED.match(err.message)
        missing = match.group(1) if match else "?"
        line = source.line(path)
        problem = source.problem((*path, missing), "required field is missing")
        return [ConfigProblem(problem.file, line, problem.path, problem.message)]
    if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
        known = sorted(sub.get("properties", {}))
        out = []
        for key in err.instance:
            if key in known:
                continue
            hint = difflib.get_close_matches(str(key), known, n=1)
            if hint:
                message = f"unknown field; did you mean '{hint[0]}'?"
            else:
                message = f"unknown field (expected one of: {', '.join(known)})"
            out.append(source.problem((*path, key), message))
        return out
    if "propertyNames" in err.schema_path:
        # The error is about a key of the mapping at ``path``; point at that key.
        key = str(err.instance)
        template = str(sub.get("x-message", "is not an allowed name"))
        return [source.problem((*path, key), f"{key!r} {template}")]
    if err.validator in _CUSTOM_MESSAGE_KEYWORDS and "x-message" in sub:
        template = str(sub["x-message"])
        message = f"{err.instance!r} {template}" if template.startswith("is ") else template
        return [source.problem(path, message)]
    return [source.problem(path, err.message)]


# ---------------------------------------------------------------- building specs


def _secret(data: Mapping[str, Any] | None, base: Path) -> SecretRef | None:
    if data is None:
        return None
    if "env" in data:
        return SecretRef(env=str(data["env"]))
    return SecretRef(file=(base / str(data["file"])).resolve())


def _controller(source: Source, file: Path, env: Mapping[str, str]) -> ControllerConfig:
    data: Mapping[str, Any] = source.data
    base = file.parent.resolve()
    runtime = data["runtime"]
    docker = runtime.get("docker", {})
    marathon = runtime.get("marathon")
    defaults = data.get("defaults", {})
    caps = data.get("caps", {})
    kind = env.get("CIORCH_RUNTIME", runtime["kind"])
    state_path = Path(
        env.get("CIORCH_STATE_PATH") or base / data.get("state", {}).get("path", "state/ciorch.db")
    ).resolve()
    marathon_settings = None
    if marathon is not None or env.get("CIORCH_MARATHON_URL"):
        marathon = marathon or {}
        marathon_settings = MarathonSettings(
            url=env.get("CIORCH_MARATHON_URL", marathon.get("url", "")),
            username=marathon.get("username"),
            password=_secret(marathon.get("password"), base),
            app_prefix=marathon.get("app_prefix", "/ciorch"),
            constraints=tuple(tuple(c) for c in marathon.get("constraints", [])),
            deployment_timeout=float(marathon.get("deployment_timeout", 300)),
        )
    templates_dir = data.get("templates_dir")
    ports = docker.get("master_ports", [18080, 18179])
    return ControllerConfig(
        source=source.file,
        runtime="marathon" if kind == "marathon" else "docker",
        docker=DockerSettings(base_url=docker.get("base_url"), master_ports=(ports[0], ports[1])),
        marathon=marathon_settings,
        state_path=state_path,
        listen=env.get("CIORCH_LISTEN", data.get("listen", "127.0.0.1:8700")),
        webhook_secret=_secret(data.get("webhook_secret"), base),
        teams_dir=(base / data.get("teams_dir", "teams")).resolve(),
        templates_dir=(base / templates_dir).resolve() if templates_dir else None,
        master_image=env.get("CIORCH_MASTER_IMAGE") or defaults.get("master_image"),
        registry=defaults.get("registry"),
        caps=Caps(**caps),
    )


def _team(source: Source) -> TeamSpec:
    data: Mapping[str, Any] = source.data
    master = data.get("master", {})
    plugins = master.get("plugins", {})
    agents: dict[str, AgentTemplate] = {}
    for label, agent in data["agents"].items():
        pool = agent.get("pool")
        agents[label] = AgentTemplate(
            label=label,
            agent_class=agent["class"],
            image=agent["image"],
            cpus=float(agent.get("cpus", 1)),
            mem=int(agent.get("mem", 1024)),
            pids_limit=int(agent.get("pids_limit", 1024)),
            executors=int(agent.get("executors", 1)),
            max_concurrent=int(agent.get("max_concurrent", 10)),
            read_only_root=bool(agent.get("read_only_root", False)),
            env=dict(agent.get("env", {})),
            pool=PoolSettings(**pool) if agent["class"] == "pool" and pool is not None else None,
        )
    repositories = tuple(
        Repository(
            name=repo["name"],
            kind=repo["type"],
            url=repo["url"],
            routes=tuple(
                RepoRoute(
                    job=route["job"],
                    branches=tuple(route.get("branches", ["*"])),
                    paths=tuple(route.get("paths", [])),
                )
                for route in repo["jobs"]
            ),
        )
        for repo in data.get("repositories", [])
    )
    return TeamSpec(
        source=source.file,
        name=data["name"],
        description=data.get("description", ""),
        master=MasterSpec(
            image=master.get("image"),
            version=master.get("version"),
            cpus=float(master.get("cpus", 1)),
            mem=int(master.get("mem", 2048)),
            disk=int(master.get("disk", 10240)),
            executors=int(master.get("executors", 0)),
            plugins_add=tuple(plugins.get("add", [])),
            plugins_remove=tuple(plugins.get("remove", [])),
            settings=dict(master.get("settings", {})),
        ),
        agents=agents,
        quotas=Quotas(**data.get("quotas", {})),
        repositories=repositories,
        jobs=tuple(
            JobSpec(
                name=job["name"],
                template=job["template"],
                label=job["label"],
                params=dict(job.get("params", {})),
            )
            for job in data.get("jobs", [])
        ),
        raw=data,
    )


# ---------------------------------------------------------------- rules a schema cannot say


def _team_rules(source: Source, file: Path, templates: set[str] | None) -> list[ConfigProblem]:
    data: Mapping[str, Any] = source.data
    out: list[ConfigProblem] = []
    if data["name"] != file.stem:
        out.append(
            source.problem(
                ("name",), f"{data['name']!r} must match the file name ({file.stem}.yaml)"
            )
        )
    agents: Mapping[str, Any] = data["agents"]
    for label, agent in agents.items():
        if agent["class"] == "pool" and "pool" not in agent:
            out.append(source.problem(("agents", label, "pool"), "required when class is pool"))
        if agent["class"] == "ephemeral" and "pool" in agent:
            out.append(
                source.problem(
                    ("agents", label, "pool"),
                    "only pool agents have pool settings (class is ephemeral)",
                )
            )
        pool = agent.get("pool", {})
        low, high = pool.get("min", 1), pool.get("max", 4)
        if agent["class"] == "pool" and low > high:
            out.append(
                source.problem(
                    ("agents", label, "pool", "min"), f"{low} is greater than pool.max ({high})"
                )
            )
        if agent["class"] == "pool" and high > agent.get("max_concurrent", 10):
            out.append(
                source.problem(
                    ("agents", label, "pool", "max"),
                    f"{high} is greater than max_concurrent ({agent.get('max_concurrent', 10)})",
                )
            )
    quotas = data.get("quotas", {})
    if "max_agents" in quotas:
        warm = sum(a.get("pool", {}).get("min", 1) for a in agents.values() if a["class"] == "pool")
        if warm > quotas["max_agents"]:
            out.append(
                source.problem(
                    ("quotas", "max_agents"),
                    f"{quotas['max_agents']} is less than the pools' minimums together ({warm})",
                )
            )
    for resource in ("cpus", "mem"):
        if resource in quotas:
            for label, agent in agents.items():
                size = agent.get(resource, 1 if resource == "cpus" else 1024)
                if size > quotas[resource]:
                    out.append(
                        source.problem(
                            ("agents", label, resource),
                            f"{size} is more than the team quota quotas.{resource} "
                            f"({quotas[resource]})",
                        )
                    )
    seen_jobs: dict[str, int] = {}
    for index, job in enumerate(data.get("jobs", [])):
        if job["name"] in seen_jobs:
            out.append(
                source.problem(
                    ("jobs", index, "name"),
                    f"duplicate job name {job['name']!r} (also jobs[{seen_jobs[job['name']]}])",
                )
            )
        else:
            seen_jobs[job["name"]] = index
        if job["label"] not in agents:
            out.append(
                source.problem(
                    ("jobs", index, "label"),
                    f"{job['label']!r} is not an agent template of team {data['name']} "
                    f"(templates: {', '.join(sorted(agents))})",
                )
            )
        if templates is not None and job["template"] not in templates:
            known = ", ".join(sorted(templates)) or "none"
            out.append(
                source.problem(
                    ("jobs", index, "template"),
                    f"unknown job template {job['template']!r} (known: {known})",
                )
            )
    repo_names: set[str] = set()
    for r_index, repo in enumerate(data.get("repositories", [])):
        if repo["name"] in repo_names:
            out.append(
                source.problem(
                    ("repositories", r_index, "name"), f"duplicate repository name {repo['name']!r}"
                )
            )
        repo_names.add(repo["name"])
        for j_index, route in enumerate(repo["jobs"]):
            if route["job"] not in seen_jobs:
                out.append(
                    source.problem(
                        ("repositories", r_index, "jobs", j_index, "job"),
                        f"{route['job']!r} is not a job of team {data['name']}",
                    )
                )
    return out


def _repo_key(kind: str, url: str, base: Path) -> str:
    url = url.strip().rstrip("/")
    if url.startswith("file://"):
        return f"{kind}:file://{os.path.normpath(url[len('file://') :])}"
    if "://" not in url and not re.match(r"^[\w.-]+@[\w.-]+:", url):  # a local path
        return f"{kind}:file://{(base / url).resolve()}"
    return f"{kind}:{url}"


def _fleet_rules(
    sources: Sequence[tuple[Source, Path]], controller: Source | None
) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    names: dict[str, Source] = {}
    claims: dict[str, tuple[Source, int, str]] = {}
    for source, file in sources:
        name = source.data["name"]
        if name in names:
            out.append(
                source.problem(("name",), f"team {name!r} is also defined in {names[name].file}")
            )
        names.setdefault(name, source)
        for index, repo in enumerate(source.data.get("repositories", [])):
            key = _repo_key(repo["type"], repo["url"], file.parent)
            if key in claims and claims[key][2] != name:
                other, other_index, other_team = claims[key]
                where = f"{other.file}:{other.line(('repositories', other_index, 'url'))}"
                out.append(
                    source.problem(
                        ("repositories", index, "url"),
                        f"repository {repo['url']!r} is already claimed by team "
                        f"{other_team} ({where})",
                    )
                )
            claims.setdefault(key, (source, index, name))
    if controller is not None:
        caps = controller.data.get("caps", {})
        if len(sources) > caps.get("max_masters", 100):
            out.append(
                controller.problem(
                    ("caps", "max_masters"),
                    f"{caps['max_masters']} is less than the number of teams ({len(sources)})",
                )
            )
    return out


def _controller_rules(source: Source, file: Path) -> list[ConfigProblem]:
    data: Mapping[str, Any] = source.data
    out: list[ConfigProblem] = []
    runtime = data["runtime"]
    if runtime["kind"] == "marathon" and "marathon" not in runtime:
        out.append(
            source.problem(("runtime", "marathon"), "required when runtime.kind is marathon")
        )
    ports = runtime.get("docker", {}).get("master_ports")
    if ports and ports[0] > ports[1]:
        out.append(
            source.problem(
                ("runtime", "docker", "master_ports"),
                f"{ports[0]} is above {ports[1]}: use [low, high]",
            )
        )
    base = file.parent
    teams_dir = base / data.get("teams_dir", "teams")
    if not teams_dir.is_dir():
        out.append(source.problem(("teams_dir",), f"folder {_display(teams_dir)} does not exist"))
    if "templates_dir" in data and not (base / data["templates_dir"]).is_dir():
        out.append(
            source.problem(
                ("templates_dir",),
                f"folder {_display(base / data['templates_dir'])} does not exist",
            )
        )
    return out


# ---------------------------------------------------------------- entry points


def discover(paths: Iterable[Path]) -> tuple[Path | None, list[Path]]:
    """Which files the given paths mean: a folder with a ciorch.yaml means that
    controller and its teams_dir; a folder without one, every *.yaml in it as a team;
    a file named ciorch.yaml is a controller, any other file a team."""
    controller: Path | None = None
    teams: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = next((path / n for n in CONTROLLER_NAMES if (path / n).is_file()), None)
            if found is not None:
                controller = controller or found
            else:
                teams.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        elif path.name in CONTROLLER_NAMES:
            controller = controller or path
        else:
            teams.append(path)
    return controller, teams


def _controller_teams(source: Source, file: Path) -> list[Path]:
    teams_dir = file.parent / source.data.get("teams_dir", "teams")
    if not teams_dir.is_dir():
        return []
    return sorted(p for p in teams_dir.iterdir() if p.suffix in (".yaml", ".yml"))


def _templates(source: Source, file: Path) -> set[str] | None:
    if "templates_dir" not in source.data:
        return None
    folder = file.parent / source.data["templates_dir"]
    if not folder.is_dir():
        return None
    return {p.stem for p in folder.iterdir() if p.suffix in (".yaml", ".yml")}


_ENV_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "CIORCH_RUNTIME": (re.compile(r"^(docker|marathon)$"), "is not one of ['docker', 'marathon']"),
    "CIORCH_LISTEN": (re.compile(r"^[A-Za-z0-9.:\[\]-]+:[0-9]{1,5}$"), "is not host:port"),
    "CIORCH_MARATHON_URL": (re.compile(r"^https?://\S+$"), "is not an http(s) URL"),
}


def _env_problems(env: Mapping[str, str]) -> list[ConfigProblem]:
    """Overrides from the environment are checked like the file they override."""
    return [
        ConfigProblem("environment", None, name, f"{env[name]!r} {message}")
        for name, (pattern, message) in _ENV_RULES.items()
        if name in env and not pattern.match(env[name])
    ]


def _load(
    paths: Sequence[Path], env: Mapping[str, str], controller_path: Path | None = None
) -> tuple[Fleet | None, list[ConfigProblem]]:
    problems: list[ConfigProblem] = []
    if controller_path is not None:  # named as the controller, whatever the file is called
        controller_file: Path | None = controller_path
        team_files = discover(paths)[1]
    else:
        controller_file, team_files = discover(paths)
    if controller_file is not None:
        problems += _env_problems(env)
    controller_source: Source | None = None
    controller: ControllerConfig | None = None
    templates: set[str] | None = None
    if controller_file is not None:
        source, read_problems = read_yaml(controller_file, _display(controller_file))
        problems += read_problems
        if not read_problems:
            if not isinstance(source.data, dict):
                problems.append(source.problem((), "must be a mapping of settings"))
            else:
                schema_problems = _schema_problems(source, "controller")
                problems += schema_problems
                if not schema_problems:
                    rule_problems = _controller_rules(source, controller_file)
                    problems += rule_problems
                    controller_source = source
                    templates = _templates(source, controller_file)
                    team_files += _controller_teams(source, controller_file)
                    if not rule_problems:
                        controller = _controller(source, controller_file, env)
    unique: dict[Path, Path] = {}
    for file in team_files:
        unique.setdefault(file.resolve(), file)
    valid: list[tuple[Source, Path]] = []
    for file in unique.values():
        source, read_problems = read_yaml(file, _display(file))
        problems += read_problems
        if read_problems:
            continue
        if not isinstance(source.data, dict):
            problems.append(source.problem((), "must be a mapping (a team definition)"))
            continue
        schema_problems = _schema_problems(source, "team")
        problems += schema_problems
        if schema_problems:
            continue
        rule_problems = _team_rules(source, file, templates)
        problems += rule_problems
        if not rule_problems:
            valid.append((source, file))
    problems += _fleet_rules(valid, controller_source)
    if problems:
        return None, problems
    if controller_file is None and not team_files:
        return None, [
            ConfigProblem(
                ", ".join(map(str, paths)) or ".", None, "", "no configuration files found"
            )
        ]
    return Fleet(controller, tuple(_team(source) for source, _ in valid)), []


def validate_paths(
    paths: Sequence[Path], env: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Every problem in the configuration at ``paths``; empty when it is valid."""
    return _load(paths, os.environ if env is None else env)[1]


def load_fleet(
    paths: Sequence[Path],
    env: Mapping[str, str] | None = None,
    *,
    controller: Path | None = None,
) -> Fleet:
    """The validated configuration at ``paths`` (and the controller file ``controller``,
    whatever its name); raises ConfigError listing every problem."""
    fleet, problems = _load(paths, os.environ if env is None else env, controller)
    if problems or fleet is None:
        raise ConfigError(problems)
    return fleet
