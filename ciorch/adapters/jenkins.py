"""One team's Jenkins master through python-jenkins, as ciorch types and errors.

python-jenkins raises JenkinsException for 401/403/500 (the HTTP error is its
__context__), NotFoundException for 404, raw requests errors for other statuses and
for connection failures. They are translated here, once: connection trouble, 5xx and
timeouts are TemporaryError; refused credentials, 4xx are PermanentError; 404 is
NotFoundError."""

from __future__ import annotations

__all__ = ["JenkinsClient"]

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import jenkins
import requests

from ciorch.errors import CiorchError, NotFoundError, PermanentError, TemporaryError
from ciorch.model.jenkins import BuildInfo, JobInfo, NodeInfo, QueueItem

_QUEUE_TREE = (
    "items[id,why,blocked,buildable,stuck,inQueueSince,params,"
    "task[name,url,labelExpression],actions[parameters[name,value]]]"
)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from or while handling (python-jenkins raises
    its own exceptions inside ``except`` blocks, often two levels deep)."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _status(exc: BaseException) -> int | None:
    for candidate in _chain(exc):
        response = getattr(candidate, "response", None)
        if response is not None and getattr(response, "status_code", None):
            return int(response.status_code)
    return None


class JenkinsClient:
    def __init__(self, url: str, user: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._server = jenkins.Jenkins(self.url, username=user, password=token, timeout=timeout)

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        where = f"{self.url} {what}"
        try:
            yield
        except CiorchError:
            raise
        except jenkins.NotFoundException as exc:
            raise NotFoundError("not found", where=where) from exc
        except jenkins.TimeoutException as exc:
            raise TemporaryError("Jenkins did not answer in time", where=where) from exc
        except jenkins.JenkinsException as exc:
            chain = _chain(exc)
            if any(isinstance(e, jenkins.NotFoundException) for e in chain):
                raise NotFoundError("not found", where=where) from exc
            if any(isinstance(e, requests.ConnectionError | requests.Timeout) for e in chain):
                raise TemporaryError(
                    "Jenkins does not answer (connection failed)", where=where
                ) from exc
            self._raise_http(exc, where)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TemporaryError(
                "Jenkins does not answer (connection failed)", where=where
            ) from exc
        except requests.HTTPError as exc:
            self._raise_http(exc, where)

    @staticmethod
    def _raise_http(exc: BaseException, where: str) -> NoReturn:
        status = _status(exc)
        if status is None:
            # python-jenkins' own refusals ("job[x] already exists") carry no status.
            raise PermanentError(f"Jenkins refused the request: {exc}", where=where) from exc
        if status in (401, 403):
            raise PermanentError(
                f"Jenkins refused the credentials (HTTP {status})", where=where
            ) from exc
        if status >= 500:
            raise TemporaryError(f"Jenkins error (HTTP {status})", where=where) from exc
        header = ""
        for candidate in _chain(exc):
            response = getattr(candidate, "response", None)
            if response is not None:
                header = response.headers.get("X-Error", "")
                break
        detail = f": {header}" if header else ""
        raise PermanentError(
            f"Jenkins refused the request (HTTP {status}){detail}", where=where
        ) from exc

    # ------------------------------------------------------------ master

    def version(self) -> str:
        """Authenticated call first (python-jenkins' get_version skips auth)."""
        with self._translate("whoami"):
            self._server.get_whoami()
            return str(self._server.get_version())

    def apply_casc(self, document: str) -> None:
        """POST a Configuration-as-Code document to the configuration-as-code plugin's
        /configuration-as-code/apply (it reads the YAML from the request body)."""
        with self._translate("configuration-as-code apply"):
            self._server.jenkins_open(
                requests.Request(
                    "POST",
                    f"{self.url}/configuration-as-code/apply",
                    data=document.encode("utf-8"),
                    headers={"Content-Type": "application/x-yaml"},
                )
            )

    # ------------------------------------------------------------ jobs

    def jobs(self) -> dict[str, JobInfo]:
        with self._translate("jobs"):
            raw = self._server.get_jobs()
        return {j["name"]: JobInfo(j["name"], j.get("color", ""), j.get("url", "")) for j in raw}

    def job_config(self, name: str) -> str | None:
        try:
            with self._translate(f"job {name}"):
                return str(self._server.get_job_config(name))
        except NotFoundError:
            return None

    def create_job(self, name: str, config_xml: str) -> None:
        with self._translate(f"create job {name}"):
            self._server.create_job(name, config_xml)

    def update_job(self, name: str, config_xml: str) -> None:
        with self._translate(f"update job {name}"):
            self._server.reconfig_job(name, config_xml)

    def delete_job(self, name: str) -> None:
        with self._translate(f"delete job {name}"):
            self._server.delete_job(name)

    def build(self, job: str, params: Mapping[str, str] | None = None) -> int:
        """Queue a build; returns the queue item id (not a build number)."""
        with self._translate(f"build {job}"):
            return int(self._server.build_job(job, parameters=dict(params) if params else None))

    # ------------------------------------------------------------ queue

    @staticmethod
    def _queue_item(raw: Mapping[str, Any]) -> QueueItem:
        task = raw.get("task") or {}
        params: list[tuple[str, str]] = []
        for action in raw.get("actions") or []:
            for p in (action or {}).get("parameters") or []:
                params.append((str(p.get("name")), str(p.get("value"))))
        executable = raw.get("executable") or None
        return QueueItem(
            id=int(raw["id"]),
            job=str(task.get("name", "")),
            label=task.get("labelExpression"),
            why=raw.get("why"),
            buildable=bool(raw.get("buildable", False)),
            blocked=bool(raw.get("blocked", False)),
            stuck=bool(raw.get("stuck", False)),
            in_queue_since=float(raw.get("inQueueSince", 0)) / 1000.0,
            params=tuple(params),
            cancelled=bool(raw.get("cancelled", False)),
            build_number=int(executable["number"]) if executable else None,
        )

    def queue(self) -> list[QueueItem]:
        with self._translate("queue"):
            raw = self._server.jenkins_open(
                requests.Request("GET", f"{self.url}/queue/api/json?tree={_QUEUE_TREE}")
            )
        return [self._queue_item(i) for i in json.loads(raw).get("items", [])]

    def queue_item(self, queue_id: int) -> QueueItem | None:
        try:
            with self._translate(f"queue item {queue_id}"):
                raw = self._server.get_queue_item(queue_id)
        except NotFoundError:
            return None
        return self._queue_item(raw)

    def cancel(self, queue_id: int) -> None:
        with self._translate(f"cancel queue item {queue_id}"):
            self._server.cancel_queue(queue_id)

    # ------------------------------------------------------------ nodes

    def nodes(self) -> list[NodeInfo]:
        with self._translate("nodes"):
            raw = self._server.jenkins_open(
                requests.Request(
                    "GET",
                    f"{self.url}/computer/api/json?tree=computer[displayName,numExecutors,"
                    "idle,offline,temporarilyOffline,assignedLabels[name],"
                    "executors[idle]]",
                )
            )
        out = []
        for c in json.loads(raw).get("computer", []):
            name = c.get("displayName", "")
            if c.get("_class", "").endswith("MasterComputer") or name in (
                "Built-In Node",
                "master",
            ):
                continue
            labels = tuple(
                lab["name"] for lab in c.get("assignedLabels") or [] if lab["name"] != name
            )
            busy = sum(1 for e in c.get("executors") or [] if not e.get("idle", True))
            out.append(
                NodeInfo(
                    name=name,
                    labels=labels,
                    executors=int(c.get("numExecutors", 0)),
                    idle=bool(c.get("idle", True)),
                    offline=bool(c.get("offline", False)),
                    temporarily_offline=bool(c.get("temporarilyOffline", False)),
                    busy_executors=busy,
                )
            )
        return out

    def create_inbound_node(
        self, name: str, labels: str, *, executors: int = 1, remote_fs: str = "/home/jenkins/agent"
    ) -> None:
        """An EXCLUSIVE inbound (JNLP/WebSocket) node: takes only jobs naming its labels."""
        with self._translate(f"create node {name}"):
            self._server.create_node(
                name,
                numExecutors=executors,
                nodeDescription="ciorch throwaway agent",
                remoteFS=remote_fs,
                labels=labels,
                exclusive=True,
                launcher=jenkins.LAUNCHER_JNLP,
            )

    def node_secret(self, name: str) -> str:
        """The inbound agent's secret, read from its jenkins-agent.jnlp (no client method)."""
        with self._translate(f"node {name} secret"):
            raw = self._server.jenkins_open(
                requests.Request("GET", f"{self.url}/computer/{name}/jenkins-agent.jnlp")
            )
        args = [a.text or "" for a in ET.fromstring(raw).iter("argument")]
        secret = next((a for a in args if re.fullmatch(r"[0-9a-f]{64}", a)), None)
        if secret is None:
            raise PermanentError("no secret in the agent's JNLP file", where=f"{self.url} {name}")
        return secret

    def delete_node(self, name: str) -> None:
        try:
            with self._translate(f"delete node {name}"):
                self._server.delete_node(name)
        except NotFoundError:
            return

    def set_offline(self, name: str, message: str = "") -> None:
        with self._translate(f"disable node {name}"):
            self._server.disable_node(name, message)

    # ------------------------------------------------------------ builds

    def build_info(self, job: str, number: int) -> BuildInfo | None:
        try:
            with self._translate(f"build {job} #{number}"):
                raw = self._server.get_build_info(job, number)
        except NotFoundError:
            return None
        return BuildInfo(
            job=job,
            number=int(raw["number"]),
            building=bool(raw.get("building", False)),
            result=raw.get("result"),
            duration_ms=int(raw.get("duration", 0)),
            timestamp_ms=int(raw.get("timestamp", 0)),
            built_on=raw.get("builtOn"),
            queue_id=int(raw.get("queueId", -1)),
        )

    def console(self, job: str, number: int) -> str:
        with self._translate(f"console {job} #{number}"):
            return str(self._server.get_build_console_output(job, number))
