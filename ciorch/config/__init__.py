"""Configuration: ciorch.yaml (the controller) and teams/<team>.yaml, validated against
the JSON Schemas in ciorch/schemas and the rules between fields and files."""

from ciorch.config.load import discover, load_fleet, schema, validate_paths
from ciorch.config.spec import (
    AgentTemplate,
    ControllerConfig,
    Fleet,
    JobSpec,
    MasterSpec,
    PoolSettings,
    RepoRoute,
    Repository,
    TeamSpec,
)

__all__ = [
    "AgentTemplate",
    "ControllerConfig",
    "Fleet",
    "JobSpec",
    "MasterSpec",
    "PoolSettings",
    "RepoRoute",
    "Repository",
    "TeamSpec",
    "discover",
    "load_fleet",
    "schema",
    "validate_paths",
]
