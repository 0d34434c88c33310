"""Configuration-as-Code for a team's Jenkins master. Purely computational: settings in,
the CasC document (a dict, or its YAML text) out; no I/O, no clock.

The master image carries plugins and this configuration's defaults; ciorch renders one
document per team and hands it to the master (``CASC_JENKINS_CONFIG``). Security is
fixed here, not left to the team: the local user database with one admin user whose
password is a CasC variable reference (``${ADMIN_PASSWORD}``, resolved by CasC from the
environment or /run/secrets at start, so the secret never enters the file), logged-in
users (or a matrix) authorise, CSRF crumbs are on, no TCP agent port (agents connect over
WebSocket), and no executors on the built-in node unless the team asks.

Free text from the team (system message, e-mail) is escaped so that CasC does not
interpolate a ``${...}`` in it (CasC's escape is ``^${``).
"""

from __future__ import annotations

__all__ = [
    "AUTHORIZATIONS",
    "CascSpec",
    "casc_config",
    "casc_spec_for_team",
    "render_casc",
]

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from ciorch.config import TeamSpec
from ciorch.errors import PermanentError

Authorization = Literal["logged-in", "matrix"]
AUTHORIZATIONS: tuple[Authorization, ...] = ("logged-in", "matrix")

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_USER_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*$")
_TEAM = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@dataclass(frozen=True, slots=True)
class CascSpec:
    """Everything the CasC document depends on.

    ``admin_password_var`` names the variable CasC resolves at start (environment,
    system property or /run/secrets/<name>); the password itself is never an input.
    ``agent_port`` None means no TCP agent port (``slaveAgentPort: -1``): inbound and
    Swarm agents connect with ``-webSocket`` over the HTTP port.
    """

    team: str
    root_url: str
    admin_user: str = "admin"
    admin_password_var: str = "ADMIN_PASSWORD"
    executors: int = 0
    system_message: str | None = None
    quiet_period: int = 5
    admin_email: str | None = None
    agent_port: int | None = None
    authorization: Authorization = "logged-in"


def casc_spec_for_team(
    team: TeamSpec,
    *,
    root_url: str,
    admin_user: str = "admin",
    admin_password_var: str = "ADMIN_PASSWORD",
    agent_port: int | None = None,
    authorization: Authorization = "logged-in",
) -> CascSpec:
    """The CasC inputs for one team: executors and ``master.settings`` (system_message,
    quiet_period, admin_email) from its configuration, the rest from the controller."""
    settings = team.master.settings
    message = settings.get("system_message")
    email = settings.get("admin_email")
    return CascSpec(
        team=team.name,
        root_url=root_url,
        admin_user=admin_user,
        admin_password_var=admin_password_var,
        executors=team.master.executors,
        system_message=str(message) if message is not None else None,
        quiet_period=int(settings.get("quiet_period", 5)),
        admin_email=str(email) if email is not None else None,
        agent_port=agent_port,
        authorization=authorization,
    )


def casc_config(spec: CascSpec) -> dict[str, Any]:
    """The CasC document for ``spec`` as plain data (what ``render_casc`` dumps).

    Raises PermanentError for inputs Jenkins would refuse or misread."""
    _check(spec)
    message = (
        spec.system_message
        if spec.system_message is not None
        else f"Jenkins of team {spec.team}, managed by ciorch: changes made here are overwritten."
    )
    jenkins: dict[str, Any] = {
        "systemMessage": _escape(message),
        "numExecutors": spec.executors,
        # The built-in node takes only jobs tied to it; everything else goes to agents.
        "mode": "EXCLUSIVE",
        "quietPeriod": spec.quiet_period,
        "slaveAgentPort": spec.agent_port if spec.agent_port is not None else -1,
        "securityRealm": {
            "local": {
                "allowsSignup": False,
                "users": [
                    {
                        "id": spec.admin_user,
                        "name": f"{spec.team} administrator",
                        "password": "${" + spec.admin_password_var + "}",
                    }
                ],
            }
        },
        "authorizationStrategy": _authorization(spec),
        "crumbIssuer": {"standard": {"excludeClientIPFromCrumb": False}},
    }
    location: dict[str, Any] = {"url": spec.root_url}
    if spec.admin_email is not None:
        location["adminAddress"] = _escape(spec.admin_email)
    return {"jenkins": jenkins, "unclassified": {"location": location}}


def render_casc(spec: CascSpec) -> str:
    """``casc_config(spec)`` as YAML text, with a header naming the team."""
    body = yaml.safe_dump(
        casc_config(spec),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=120,
    )
    return (
        f"# Jenkins Configuration-as-Code for team {spec.team}, generated by ciorch\n"
        "# (ciorch.plan.casc). Do not edit: ciorch renders it again on every deployment.\n" + body
    )


def _authorization(spec: CascSpec) -> dict[str, Any]:
    if spec.authorization == "logged-in":
        return {"loggedInUsersCanDoAnything": {"allowAnonymousRead": False}}
    # matrix-auth 3.x form: the admin administers, every logged-in user may read.
    return {
        "globalMatrix": {
            "entries": [
                {"user": {"name": spec.admin_user, "permissions": ["Overall/Administer"]}},
                {"group": {"name": "authenticated", "permissions": ["Overall/Read"]}},
            ]
        }
    }


def _escape(text: str) -> str:
    """Keep CasC from interpolating ``${...}`` in free text."""
    return text.replace("${", "^${")


def _check(spec: CascSpec) -> None:
    where = f"team {spec.team} master configuration"
    problems: list[str] = []
    if not _TEAM.match(spec.team):
        problems.append(f"team name {spec.team!r} is not DNS-safe")
    if not _URL.match(spec.root_url):
        problems.append(f"root URL {spec.root_url!r} is not an http(s) URL")
    if not _USER_ID.match(spec.admin_user):
        problems.append(f"admin user {spec.admin_user!r} is not a Jenkins user id")
    if not _VAR_NAME.match(spec.admin_password_var):
        problems.append(
            f"admin password variable {spec.admin_password_var!r} is not a variable name"
        )
    if not 0 <= spec.executors <= 16:
        problems.append(f"executors {spec.executors} is outside 0..16")
    if not 0 <= spec.quiet_period <= 3600:
        problems.append(f"quiet period {spec.quiet_period} is outside 0..3600 s")
    if spec.agent_port is not None and not 0 <= spec.agent_port <= 65535:
        problems.append(f"agent port {spec.agent_port} is outside 0..65535")
    if spec.authorization not in AUTHORIZATIONS:
        problems.append(f"authorization {spec.authorization!r} is not one of {AUTHORIZATIONS}")
    if problems:
        raise PermanentError("; ".join(problems), where=where)
