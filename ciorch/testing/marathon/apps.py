"""App definitions: validation against Marathon's own JSON Schema, normalisation (the
defaults Marathon fills in), and the answer shapes the marathon 0.13.0 client can parse.

Everything here is pure: dicts in, dicts out, :class:`ApiError` for a refused body.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.resources
import json
import re
import threading
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jsonschema

__all__ = [
    "ANSWER_APP_KEYS",
    "ApiError",
    "VersionClock",
    "app_schema",
    "filter_app_answer",
    "format_timestamp",
    "is_scale_only",
    "merge_update",
    "normalise_app",
    "normalise_id",
    "validate_app",
]

Json = dict[str, Any]

CMD_ARGS_CONTAINER = (
    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
)
MIXED_NETWORKS = "cannot mix deprecated and canonical network APIs"

# Keys the marathon 0.13.0 model classes accept (their constructors' parameters, camel
# cased). Their from_json raises TypeError on any other key, so answers carry only these.
ANSWER_APP_KEYS = frozenset(
    {
        "acceptedResourceRoles",
        "args",
        "backoffFactor",
        "backoffSeconds",
        "cmd",
        "constraints",
        "container",
        "cpus",
        "dependencies",
        "deployments",
        "disk",
        "env",
        "executor",
        "healthChecks",
        "id",
        "role",
        "instances",
        "killSelection",
        "labels",
        "lastTaskFailure",
        "maxLaunchDelaySeconds",
        "mem",
        "ports",
        "requirePorts",
        "storeUrls",
        "taskRateLimit",
        "tasks",
        "tasksRunning",
        "tasksStaged",
        "tasksHealthy",
        "taskKillGracePeriodSeconds",
        "tasksUnhealthy",
        "upgradeStrategy",
        "unreachableStrategy",
        "uris",
        "user",
        "version",
        "versionInfo",
        "ipAddress",
        "fetch",
        "taskStats",
        "readinessChecks",
        "readinessCheckResults",
        "secrets",
        "portDefinitions",
        "residency",
        "gpus",
        "networks",
    }
)
_CONTAINER_KEYS = frozenset({"docker", "type", "portMappings", "volumes"})
_PORT_MAPPING_KEYS = frozenset(
    {"name", "containerPort", "hostPort", "servicePort", "protocol", "labels"}
)
_VOLUME_KEYS = frozenset({"containerPath", "hostPath", "mode", "persistent", "external"})

# Play JSON's reading errors for a value of the wrong JSON type.
_TYPE_CODES = {
    "string": "error.expected.jsstring",
    "number": "error.expected.jsnumber",
    "integer": "error.expected.jsnumber",
    "boolean": "error.expected.jsboolean",
    "array": "error.expected.jsarray",
    "object": "error.expected.jsobject",
}


class ApiError(Exception):
    """A refused request: ``status`` and the exact JSON ``body`` Marathon answers."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def not_valid(path: str, *errors: str) -> ApiError:
    return ApiError(
        422, {"message": "Object is not valid", "details": [{"path": path, "errors": list(errors)}]}
    )


@cache
def app_schema() -> Json:
    """Marathon's AppDefinition.json, shipped in ``ciorch.schemas``."""
    ref = importlib.resources.files("ciorch.schemas").joinpath("marathon/AppDefinition.json")
    loaded: Json = json.loads(ref.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator() -> jsonschema.Draft4Validator:
    # The schema is of the draft-4 era: `items` as a list with `additionalItems`.
    return jsonschema.Draft4Validator(app_schema())


def format_timestamp(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, as Marathon writes every timestamp."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class VersionClock:
    """Strictly increasing millisecond timestamps: versions are timestamps, two changes
    within one millisecond still get different versions."""

    def __init__(self) -> None:
        self._last: dt.datetime | None = None
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            now = dt.datetime.now(dt.UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if self._last is not None and now <= self._last:
                now = self._last + dt.timedelta(milliseconds=1)
            self._last = now
            return format_timestamp(now)


def normalise_id(raw: str) -> str:
    """``x``, ``/x/``, ``//x`` -> ``/x``: absolute, no empty segments."""
    return "/" + "/".join(part for part in raw.split("/") if part)


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"({part})" if isinstance(part, int) else f"/{part}"
    return out or "/"


def _message(error: jsonschema.ValidationError) -> str:
    kind, value, inst = error.validator, error.validator_value, error.instance
    if kind == "minimum":
        return f"got {inst}, expected {value} or more"
    if kind == "maximum":
        return f"got {inst}, expected {value} or less"
    if kind == "pattern":
        return f"must fully match regular expression '{value}'"
    if kind in ("minLength", "minItems") and not inst:
        return "must not be empty"
    if kind == "additionalProperties":
        return "error.path.unknown: " + error.message
    if kind == "not":
        return CMD_ARGS_CONTAINER
    return error.message


def validate_app(body: Any) -> None:
    """Raise the 422 Marathon answers when ``body`` is not a valid app definition.

    Wrong JSON types and missing required fields are reading errors in Marathon ("Invalid
    JSON", Play's ``error.expected.js*`` / ``error.path.missing`` codes); everything else
    is a validation error ("Object is not valid"). The exact error texts are not
    confirmed against a live server; the wrappers and paths are as documented.
    """
    if not isinstance(body, dict):
        raise ApiError(
            422,
            {
                "message": "Invalid JSON",
                "details": [{"path": "/", "errors": ["error.expected.jsobject"]}],
            },
        )
    reading: list[Json] = []
    invalid: list[Json] = []
    for error in sorted(_validator().iter_errors(body), key=lambda e: list(e.absolute_path)):
        path = _json_path(error.absolute_path)
        if error.validator == "type":
            expected = error.validator_value
            kind = expected[0] if isinstance(expected, list) else expected
            reading.append({"path": path, "errors": [_TYPE_CODES.get(kind, "error.invalid")]})
        elif error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    sub = _json_path([*error.absolute_path, name])
                    reading.append({"path": sub, "errors": ["error.path.missing"]})
        elif error.validator == "oneOf" and not isinstance(error.instance, (str, dict)):
            reading.append({"path": path, "errors": ["error.expected.jsstring"]})
        elif error.validator == "enum":
            reading.append({"path": path, "errors": ["error.unknown.enum.literal"]})
        else:
            invalid.append({"path": path, "errors": [_message(error)]})
    if reading:
        raise ApiError(422, {"message": "Invalid JSON", "details": reading})
    if invalid:
        raise ApiError(422, {"message": "Object is not valid", "details": invalid})
    if not ({"cmd", "args", "container"} & set(body)):
        raise not_valid("/", CMD_ARGS_CONTAINER)


_NETWORK_MODES = {"HOST": "host", "BRIDGE": "container/bridge", "USER": "container"}


def _networks(app: Json) -> list[Json]:
    docker = (app.get("container") or {}).get("docker") or {}
    legacy = docker.pop("network", None)
    networks: list[Json] | None = app.get("networks")
    if legacy is not None and networks:
        raise not_valid("/networks", MIXED_NETWORKS)
    if legacy is not None:
        if legacy not in _NETWORK_MODES:
            # NONE has no canonical form (not confirmed: chosen as a validation error).
            raise not_valid("/container/docker/network", f"unsupported network mode {legacy}")
        network: Json = {"mode": _NETWORK_MODES[legacy]}
        name = (app.get("ipAddress") or {}).get("networkName")
        if legacy == "USER" and name:
            network["name"] = name
        return [network]
    if networks:
        return [{"mode": "container", **n} for n in networks]
    name = (app.get("ipAddress") or {}).get("networkName")
    return [{"mode": "container", "name": name}] if name else [{"mode": "host"}]


def _health_check(check: Json) -> Json:
    out: Json = {
        "protocol": "HTTP",
        "gracePeriodSeconds": 300,
        "intervalSeconds": 60,
        "timeoutSeconds": 20,
        "maxConsecutiveFailures": 3,
        "delaySeconds": 15,
        **check,
    }
    protocol = out["protocol"]
    if protocol in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
        out.setdefault("path", "/")
        out.setdefault("ignoreHttp1xx", False)
    if protocol != "COMMAND" and "port" not in out:
        out.setdefault("portIndex", 0)
    return out


def normalise_app(body: Json, app_id: str) -> Json:
    """A validated definition with Marathon's defaults filled in, ``id`` absolute,
    ``container.docker.network`` turned into ``networks`` and legacy ``ports`` into
    ``portDefinitions``. Service ports stay 0 here; the emulator assigns them."""
    app = copy.deepcopy(body)
    app["id"] = app_id
    networks = _networks(app)
    app.pop("ipAddress", None)
    app["networks"] = networks
    defaults: Json = {
        "instances": 1,
        "cpus": 1,
        "mem": 128,
        "disk": 0,
        "gpus": 0,
        "executor": "",
        "constraints": [],
        "uris": [],
        "fetch": [],
        "storeUrls": [],
        "backoffSeconds": 1,
        "backoffFactor": 1.15,
        "maxLaunchDelaySeconds": 300,
        "requirePorts": False,
        "healthChecks": [],
        "readinessChecks": [],
        "dependencies": [],
        "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
        "labels": {},
        "env": {},
        "secrets": {},
        "killSelection": "YOUNGEST_FIRST",
        "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
    }
    for key, value in defaults.items():
        app.setdefault(key, value)
    strategy = app["upgradeStrategy"]
    strategy.setdefault("minimumHealthCapacity", 1)
    strategy.setdefault("maximumOverCapacity", 1)
    app["healthChecks"] = [_health_check(c) for c in app["healthChecks"]]
    container = app.get("container")
    if container is not None:
        container.setdefault("type", "DOCKER")
        container.setdefault("volumes", [])
        docker = container.get("docker")
        if docker is not None:
            docker.setdefault("forcePullImage", False)
            docker.setdefault("privileged", False)
            docker.setdefault("parameters", [])
            legacy_mappings = docker.pop("portMappings", None)
            if legacy_mappings and "portMappings" not in container:
                container["portMappings"] = legacy_mappings
    legacy_ports = app.pop("ports", None)
    host_mode = networks[0].get("mode") == "host"
    if "portDefinitions" not in app:
        if legacy_ports is not None:
            app["portDefinitions"] = [{"port": p} for p in legacy_ports]
        elif host_mode:
            # Marathon gives a host-networked app one dynamic port unless told otherwise.
            app["portDefinitions"] = [{"port": 0}]
    for definition in app.get("portDefinitions", []):
        definition.setdefault("protocol", "tcp")
    if not host_mode:
        app.pop("portDefinitions", None)
    return app


def merge_update(current: Json | None, body: Json, partial: bool) -> Json:
    """The definition a PUT asks for: a partial update replaces the top-level fields it
    names (Marathon merges per field, not deeply); ``partialUpdate=false`` replaces all.
    Read-only and version fields of the old definition are dropped."""
    base: Json = {}
    if current is not None and partial:
        base = copy.deepcopy(current)
        for key in ("version", "versionInfo"):
            base.pop(key, None)
        if "cmd" in body:
            base.pop("args", None)
        if "args" in body:
            base.pop("cmd", None)
        if "networks" in body or "ipAddress" in body:
            base.pop("networks", None)
            base_docker = (base.get("container") or {}).get("docker") or {}
            base_docker.pop("network", None)
        docker = (body.get("container") or {}).get("docker") or {}
        if "network" in docker:
            base.pop("networks", None)
        if "ports" in body:
            base.pop("portDefinitions", None)
    merged = {**base, **copy.deepcopy(body)}
    merged.pop("version", None)
    return merged


def is_scale_only(old: Json, new: Json) -> bool:
    """True when the new definition differs from the old one in ``instances`` only."""
    ignore = {"instances", "version", "versionInfo"}
    left = {k: v for k, v in old.items() if k not in ignore}
    right = {k: v for k, v in new.items() if k not in ignore}
    return left == right


def _pick(obj: Any, keys: frozenset[str]) -> Any:
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if k in keys}
    return obj


def filter_app_answer(app: Json) -> Json:
    """Drop everything the marathon 0.13.0 models cannot parse, and unset (None) fields."""
    out = {k: v for k, v in app.items() if k in ANSWER_APP_KEYS and v is not None}
    container = out.get("container")
    if isinstance(container, dict):
        container = _pick(container, _CONTAINER_KEYS)
        if "portMappings" in container:
            container["portMappings"] = [
                _pick(m, _PORT_MAPPING_KEYS) for m in container["portMappings"]
            ]
        container["volumes"] = [_pick(v, _VOLUME_KEYS) for v in container.get("volumes", [])]
        docker = container.get("docker")
        if isinstance(docker, dict):
            container["docker"] = {k: v for k, v in docker.items() if k != "network"}
        out["container"] = container
    return out


_ID_SEGMENT = re.compile(
    r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$"
)


def valid_path_id(app_id: str) -> bool:
    """The id rule of Marathon's PathId (also what the client checks)."""
    return all(_ID_SEGMENT.match(part) for part in app_id.strip("/").split("/"))
