"""Reading a job's ``config.xml`` the way Jenkins' XStream loading of ``AbstractProject`` does.

Only the fields that change how the queue and the builds behave are read; the XML itself is kept
verbatim and served back by ``GET /job/N/config.xml`` (Jenkins re-serialises it, which changes
formatting only).

Emulator extensions (ignored by a real Jenkins, which would keep them as unknown elements):
``<ciorch.simulatedSeconds>S</ciorch.simulatedSeconds>`` and
``<ciorch.simulatedResult>FAILURE</ciorch.simulatedResult>`` as children of the root element
declare how long a build takes and how it ends when it runs on a *virtual* agent (see
:mod:`ciorch.testing.jenkins.virtual`) or on the built-in node. Real test agents run the
``hudson.tasks.Shell`` steps instead, and sleep ``simulatedSeconds`` first when it is given.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

__all__ = [
    "FOLDER_CLASS",
    "FREESTYLE_CLASS",
    "JobConfig",
    "ParameterDef",
    "parse_job_config",
    "with_disabled",
]

FREESTYLE_CLASS = "hudson.model.FreeStyleProject"
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"

_ROOT_CLASSES = {
    "project": FREESTYLE_CLASS,
    "com.cloudbees.hudson.plugins.folder.Folder": FOLDER_CLASS,
    "flow-definition": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
    "maven2-moduleset": "hudson.maven.MavenModuleSet",
    "matrix-project": "hudson.matrix.MatrixProject",
}

_PARAM_VALUE_CLASSES = {
    "hudson.model.StringParameterDefinition": "hudson.model.StringParameterValue",
    "hudson.model.TextParameterDefinition": "hudson.model.TextParameterValue",
    "hudson.model.BooleanParameterDefinition": "hudson.model.BooleanParameterValue",
    "hudson.model.ChoiceParameterDefinition": "hudson.model.StringParameterValue",
    "hudson.model.PasswordParameterDefinition": "hudson.model.PasswordParameterValue",
}


@dataclass(frozen=True)
class ParameterDef:
    """One ``hudson.model.ParameterDefinition`` of a ``ParametersDefinitionProperty``."""

    kind: str
    name: str
    default: str | bool
    description: str = ""

    @property
    def value_class(self) -> str:
        return _PARAM_VALUE_CLASSES.get(self.kind, "hudson.model.StringParameterValue")

    @property
    def is_password(self) -> bool:
        return self.kind == "hudson.model.PasswordParameterDefinition"

    @property
    def is_boolean(self) -> bool:
        return self.kind == "hudson.model.BooleanParameterDefinition"

    def coerce(self, raw: str) -> str | bool:
        """A submitted value as ``ParameterDefinition.createValue(StaplerRequest)`` makes it."""
        if self.is_boolean:
            return raw.lower() in {"true", "on", "yes", "1"}
        return raw


@dataclass(frozen=True)
class JobConfig:
    """What the emulator needs from a job's configuration."""

    xml: str
    job_class: str
    description: str | None = None
    disabled: bool = False
    concurrent: bool = False
    can_roam: bool = False
    assigned_node: str | None = None
    parameters: tuple[ParameterDef, ...] = ()
    shell_steps: tuple[str, ...] = ()
    quiet_period: float | None = None
    simulated_seconds: float | None = None
    simulated_result: str = "SUCCESS"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_folder(self) -> bool:
        return self.job_class == FOLDER_CLASS

    @property
    def label_string(self) -> str | None:
        """``AbstractProject.getAssignedLabelString``: null when it roams or has no node."""
        if self.can_roam or self.assigned_node is None:
            return None
        return self.assigned_node

    @property
    def tied_to_built_in(self) -> bool:
        """``getAssignedLabel`` returns the built-in node's self label: canRoam false, no node.

        XML is loaded without running the constructor, so a missing ``<canRoam>`` is false
        (API.md C1, read in the code, not confirmed on a live server).
        """
        return not self.can_roam and self.assigned_node is None and not self.is_folder


def _text(root: ET.Element, path: str) -> str | None:
    node = root.find(path)
    if node is None:
        return None
    return (node.text or "").strip()


def _bool(root: ET.Element, path: str) -> bool:
    return (_text(root, path) or "").lower() == "true"


def _parameters(root: ET.Element) -> tuple[ParameterDef, ...]:
    defs: list[ParameterDef] = []
    prop = root.find("properties/hudson.model.ParametersDefinitionProperty")
    if prop is None:
        return ()
    container = prop.find("parameterDefinitions")
    if container is None:
        return ()
    for item in container:
        name = _text(item, "name") or ""
        description = _text(item, "description") or ""
        if item.tag == "hudson.model.BooleanParameterDefinition":
            default: str | bool = _bool(item, "defaultValue")
        elif item.tag == "hudson.model.ChoiceParameterDefinition":
            choices = [c.text or "" for c in item.iter("string")]
            default = choices[0] if choices else ""
        else:
            default = _text(item, "defaultValue") or ""
        defs.append(ParameterDef(item.tag, name, default, description))
    return tuple(defs)


def parse_job_config(xml: str) -> JobConfig:
    """Parse ``config.xml``; raise ``ValueError`` (Jenkins answers 500) when it is not XML."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"malformed config.xml: {exc}") from exc
    job_class = _ROOT_CLASSES.get(root.tag, root.tag)
    seconds_text = _text(root, "ciorch.simulatedSeconds")
    try:
        seconds = float(seconds_text) if seconds_text else None
    except ValueError as exc:
        raise ValueError(f"ciorch.simulatedSeconds is not a number: {seconds_text}") from exc
    quiet_text = _text(root, "quietPeriod")
    try:
        quiet = float(quiet_text) if quiet_text else None
    except ValueError as exc:
        raise ValueError(f"quietPeriod is not a number: {quiet_text}") from exc
    steps = tuple(
        (node.findtext("command") or "") for node in root.findall("builders/hudson.tasks.Shell")
    )
    return JobConfig(
        xml=xml,
        job_class=job_class,
        description=_text(root, "description") or None,
        disabled=_bool(root, "disabled"),
        concurrent=_bool(root, "concurrentBuild"),
        can_roam=_bool(root, "canRoam"),
        assigned_node=_text(root, "assignedNode") or None,
        parameters=_parameters(root),
        shell_steps=steps,
        quiet_period=quiet,
        simulated_seconds=seconds,
        simulated_result=(_text(root, "ciorch.simulatedResult") or "SUCCESS").upper(),
    )


def with_disabled(xml: str, disabled: bool) -> str:
    """``config.xml`` after ``/disable`` or ``/enable`` (Jenkins saves the job again)."""
    root = ET.fromstring(xml)
    node = root.find("disabled")
    if node is None:
        node = ET.SubElement(root, "disabled")
    node.text = str(disabled).lower()
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode")
