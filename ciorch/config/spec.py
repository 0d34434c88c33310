"""Typed, validated configuration. Built only from data that passed the schemas, so
defaults live in one place (the JSON Schemas) and code deeper down never sees raw
dicts."""

from __future__ import annotations

__all__ = [
    "AgentTemplate",
    "Caps",
    "ControllerConfig",
    "DockerSettings",
    "Fleet",
    "JobSpec",
    "MarathonSettings",
    "MasterSpec",
    "PoolSettings",
    "Quotas",
    "RepoRoute",
    "Repository",
    "SecretRef",
    "TeamSpec",
]

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ciorch.errors import ConfigError, ConfigProblem

AgentClassName = Literal["ephemeral", "pool"]
RuntimeKind = Literal["docker", "marathon"]


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret is kept: an environment variable or a file, never the config."""

    env: str | None = None
    file: Path | None = None

    def resolve(self, where: str) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(
                    [ConfigProblem(where, None, "", f"environment variable {self.env} is not set")]
                )
            return value
        assert self.file is not None
        try:
            return self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                [ConfigProblem(where, None, "", f"cannot read secret file {self.file}: {exc}")]
            ) from exc


@dataclass(frozen=True, slots=True)
class DockerSettings:
    base_url: str | None = None
    master_ports: tuple[int, int] = (18080, 18179)


@dataclass(frozen=True, slots=True)
class MarathonSettings:
    url: str
    username: str | None = None
    password: SecretRef | None = None
    app_prefix: str = "/ciorch"
    constraints: tuple[tuple[str, ...], ...] = ()
    deployment_timeout: float = 300.0


@dataclass(frozen=True, slots=True)
class Caps:
    max_masters: int = 100
    max_agents: int = 500
    max_agents_per_team: int = 50


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    """ciorch.yaml. Paths are absolute (resolved against the file's folder)."""

    source: str
    runtime: RuntimeKind
    docker: DockerSettings
    marathon: MarathonSettings | None
    state_path: Path
    listen: str
    webhook_secret: SecretRef | None
    teams_dir: Path
    templates_dir: Path | None
    master_image: str | None
    registry: str | None
    caps: Caps


@dataclass(frozen=True, slots=True)
class PoolSettings:
    min: int = 1
    max: int = 4
    policy: Literal["usage", "fixed"] = "usage"
    idle_minutes: float = 10.0
    headroom: int = 1


@dataclass(frozen=True, slots=True)
class AgentTemplate:
    """How agents for one Jenkins label are made."""

    label: str
    agent_class: AgentClassName
    image: str
    cpus: float = 1.0
    mem: int = 1024
    pids_limit: int = 1024
    executors: int = 1
    max_concurrent: int = 10
    read_only_root: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    pool: PoolSettings | None = None


@dataclass(frozen=True, slots=True)
class MasterSpec:
    image: str | None = None
    version: str | None = None
    cpus: float = 1.0
    mem: int = 2048
    disk: int = 10240
    executors: int = 0
    plugins_add: tuple[str, ...] = ()
    plugins_remove: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Quotas:
    max_agents: int | None = None
    cpus: float | None = None
    mem: int | None = None


@dataclass(frozen=True, slots=True)
class RepoRoute:
    job: str
    branches: tuple[str, ...] = ("*",)
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Repository:
    name: str
    kind: Literal["git", "svn"]
    url: str
    routes: tuple[RepoRoute, ...]


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    template: str
    label: str
    params: Mapping[str, str | int | float | bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TeamSpec:
    source: str
    name: str
    description: str
    master: MasterSpec
    agents: Mapping[str, AgentTemplate]
    quotas: Quotas
    repositories: tuple[Repository, ...]
    jobs: tuple[JobSpec, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Fleet:
    """A controller config (optional) with its teams, all validated together."""

    controller: ControllerConfig | None
    teams: tuple[TeamSpec, ...]

    def team(self, name: str) -> TeamSpec | None:
        return next((t for t in self.teams if t.name == name), None)
