"""Team jobs as Jenkins config.xml, rendered by jenkins-job-builder from the templates
in ``job_templates/`` (one ``job-template`` per file, its ``id`` = the file name).

A team's ``jobs:`` entries become one JJB ``project`` whose jobs name a template id
and pass ``name``, ``label`` and the job's ``params``. Values are escaped so a ``{`` in
a user's command is kept, not taken as a JJB placeholder."""

from __future__ import annotations

__all__ = ["render_team_jobs", "template_ids"]

import logging
import tempfile
from pathlib import Path

import yaml
from jenkins_jobs.config import JJBConfig
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.loader import load_files
from jenkins_jobs.registry import ModuleRegistry
from jenkins_jobs.roots import Roots
from jenkins_jobs.xml_config import XmlJobGenerator

from ciorch.config.spec import TeamSpec
from ciorch.errors import PermanentError

_JJB_MARK = "&lt;!-- Managed by Jenkins Job Builder --&gt;"  # added to descriptions


def _escape(value: object) -> object:
    if isinstance(value, str):
        return value.replace("{", "{{").replace("}", "}}")
    return value


def template_ids(templates_dir: Path) -> set[str]:
    return {p.stem for p in templates_dir.glob("*.yaml")}


def render_team_jobs(team: TeamSpec, templates_dir: Path) -> dict[str, str]:
    """``{job name: config.xml}`` for every job of ``team``."""
    if not team.jobs:
        return {}
    known = template_ids(templates_dir)
    missing = sorted({j.template for j in team.jobs} - known)
    if missing:
        raise PermanentError(
            f"unknown job template(s) {', '.join(missing)} in {templates_dir}", where=team.source
        )
    project = {
        "project": {
            "name": team.name,
            "jobs": [
                {
                    job.template: {
                        "name": _escape(job.name),
                        "label": _escape(job.label),
                        "team": team.name,
                        **{k: _escape(v) for k, v in job.params.items()},
                    }
                }
                for job in team.jobs
            ],
        }
    }
    # JJB logs its defaults at INFO/WARNING; ciorch reports its own progress.
    logging.getLogger("jenkins_jobs").setLevel(logging.ERROR)
    config = JJBConfig()
    config.validate()
    roots = Roots(config)
    with tempfile.TemporaryDirectory(prefix="ciorch-jjb-") as tmp:
        (Path(tmp) / f"{team.name}.yaml").write_text(yaml.safe_dump([project]), encoding="utf-8")
        used = sorted({templates_dir / f"{j.template}.yaml" for j in team.jobs})
        try:
            load_files(config, roots, [*used, Path(tmp)])
            registry = ModuleRegistry(config, None)
            registry.set_macros(roots.macros)
            generated = roots.generate_jobs()
            registry.amend_job_dicts(generated)
            xml_jobs = XmlJobGenerator(registry).generateXML(generated)
        except JenkinsJobsException as exc:
            raise PermanentError(f"job template error: {exc}", where=team.source) from exc
    return {job.name: job.output().decode("utf-8").replace(_JJB_MARK, "") for job in xml_jobs}
