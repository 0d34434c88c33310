"""The configuration-as-code plugin's HTTP endpoints, as far as ciorch drives them.

``POST /configuration-as-code/apply`` reads a YAML document from the request body
(``ConfigurationAsCode.doApply`` -> ``YamlSource.of(req)``) and configures the
controller; ``POST /configuration-as-code/export`` answers the configuration as YAML.
Both need Overall/Administer (403 otherwise). What the emulator applies:
``jenkins.systemMessage`` (shown as ``description`` in ``/api/json``),
``jenkins.numExecutors`` (the built-in node), ``jenkins.quietPeriod``, and the local
security realm's users, whose ``${VAR}`` passwords CasC resolves from the environment.
A document that is not YAML, or not a mapping, answers 500 as CasC's
ConfiguratorException does (status not confirmed; documented choice)."""

from __future__ import annotations

__all__ = ["apply_casc", "resolve_variables"]

import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from .state import ApiError, JenkinsState

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def resolve_variables(text: str, env: Mapping[str, str]) -> str:
    """CasC's variable syntax: ``${VAR}``, ``${VAR:-default}``; ``^${`` escapes."""

    def one(match: re.Match[str]) -> str:
        value = env.get(match.group(1))
        if value is None:
            if match.group(2) is None:
                raise ApiError(500, f"Environment variable {match.group(1)} is not set")
            return match.group(2)
        return value

    return "${".join(_VAR.sub(one, part) for part in text.split("^${"))


def apply_casc(
    state: JenkinsState, document: str, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Apply ``document``; returns the local users it defines ({id: password})."""
    try:
        data: Any = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        raise ApiError(500, f"io.jenkins.plugins.casc.ConfiguratorException: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(500, "io.jenkins.plugins.casc.ConfiguratorException: not a mapping")
    jenkins = data.get("jenkins") or {}
    users: dict[str, str] = {}
    environment = os.environ if env is None else env
    with state.mutate():
        if "systemMessage" in jenkins:
            state.system_message = resolve_variables(str(jenkins["systemMessage"]), environment)
        if "numExecutors" in jenkins:
            state.built_in.num_executors = int(jenkins["numExecutors"])
        if "quietPeriod" in jenkins:
            state.quiet_period = float(jenkins["quietPeriod"])
        realm = (jenkins.get("securityRealm") or {}).get("local") or {}
        for user in realm.get("users") or []:
            users[str(user["id"])] = resolve_variables(str(user.get("password", "")), environment)
        state.casc_document = document
        if state.casc_listener is not None:
            state.casc_listener(document)
    return users
