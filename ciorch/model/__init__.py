"""ciorch's own types: records the state store keeps (``records``), what a runtime runs
and reports (``runtime``), and what a Jenkins master answers (``jenkins``). Frozen
dataclasses and NewType ids; the bottom layer, importing only ``ciorch.errors``."""

from ciorch.model.jenkins import BuildInfo, JobInfo, NodeInfo, QueueItem
from ciorch.model.records import (
    AgentClass,
    AgentRecord,
    AgentState,
    BuildRecord,
    BuildResult,
    Credential,
    HookEvent,
    HookState,
    JobName,
    Label,
    MasterRecord,
    MasterState,
    NodeName,
    PoolDecision,
    TeamId,
    TeamRecord,
)

__all__ = [
    "AgentClass",
    "AgentRecord",
    "AgentState",
    "BuildInfo",
    "BuildRecord",
    "BuildResult",
    "Credential",
    "HookEvent",
    "HookState",
    "JobInfo",
    "JobName",
    "Label",
    "MasterRecord",
    "MasterState",
    "NodeInfo",
    "NodeName",
    "PoolDecision",
    "QueueItem",
    "TeamId",
    "TeamRecord",
]
