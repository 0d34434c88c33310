"""The WSGI application: Jenkins' URL space over :class:`~.state.JenkinsState`.

Routing follows stapler's URL binding for the objects python-jenkins and the Swarm client use
(``/job/A/job/B/...``, ``/queue/item/N/``, ``/computer/N/``, ``/label/X/``). Every answer
carries ``X-Jenkins``; POST actions that redirect in Jenkins redirect here (API.md A, item 4).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from . import agent_api, nodes_api
from .casc_api import apply_casc
from .load import LABEL_CLASS, OVERALL_CLASS, UNLABELED_CLASS
from .model import Build
from .render import (
    render_build,
    render_item,
    render_job,
    render_label,
    render_queue,
    render_root,
    render_user,
)
from .security import CRUMB_FIELD, SESSION_COOKIE, BadCredentials, Principal, Security
from .state import ApiError, JenkinsState
from .web import Ctx, html, redirect

__all__ = ["JENKINS_VERSION", "Faults", "JenkinsApp"]

JENKINS_VERSION = "2.479.3"


@dataclass
class Faults:
    """Fault knobs: added latency, random 5xx answers (seeded), and "down" (socket closed)."""

    down: bool = False
    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def reseed(self) -> None:
        self.rng = random.Random(self.seed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "down": self.down,
            "latency": self.latency,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "seed": self.seed,
        }


class JenkinsApp:
    """WSGI callable; ``admin_hook`` lets the admin endpoint reach the emulator object."""

    def __init__(
        self,
        state: JenkinsState,
        security: Security,
        faults: Faults,
        root_url: Callable[[], str],
        admin_hook: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.state = state
        self.security = security
        self.faults = faults
        self.root_url = root_url
        self.admin_hook = admin_hook
        self._error_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        response.headers["X-Jenkins"] = JENKINS_VERSION
        response.headers["X-Hudson"] = "1.395"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response(environ, start_response)

    # --------------------------------------------------------------------- entry
    def dispatch(self, request: Request) -> Response:
        path = request.path.lstrip("/")
        exempt = path.startswith(("ciorch-admin/", "ciorch-agent/"))
        if not exempt:
            if self.faults.latency > 0:
                time.sleep(self.faults.latency)
            with self._error_lock:
                hit = (
                    self.faults.error_rate > 0 and self.faults.rng.random() < self.faults.error_rate
                )
            if hit:
                return html("Emulated server error", self.faults.error_status)
        session = request.cookies.get(SESSION_COOKIE)
        try:
            principal = self.security.authenticate(request.headers.get("Authorization"), session)
        except BadCredentials as exc:
            return Response(str(exc), 401, headers={"WWW-Authenticate": 'Basic realm="Jenkins"'})
        ctx = Ctx(request, principal, self.root_url())
        if principal.session and principal.session != session:
            ctx.set_session = principal.session
        try:
            response = self.route(ctx, path)
        except ApiError as err:
            response = html(err.message, err.status)
            for key, value in err.headers.items():
                # HTTP headers are latin-1 on the wire; Jenkins' texts carry ‘ ’. Send the UTF-8
                # bytes (how Jetty encodes them is not confirmed); clients read them back with
                # value.encode("latin-1").decode("utf-8").
                response.headers[key] = value.encode("utf-8").decode("latin-1")
        if ctx.set_session:
            response.set_cookie(SESSION_COOKIE, ctx.set_session, path="/", httponly=True)
        return response

    def route(self, ctx: Ctx, path: str) -> Response:
        method = ctx.request.method
        if path.startswith("ciorch-agent/"):
            return agent_api.handle(self.state, ctx.request, path[len("ciorch-agent/") :], ctx.root)
        if path in {"login", "loginError"}:
            return html("Sign in to Jenkins")
        if path == "j_spring_security_check" and method == "POST":
            sid = self.security.login(
                ctx.request.form.get("j_username", ""), ctx.request.form.get("j_password", "")
            )
            if sid is None:
                return redirect(ctx.root + "loginError")
            ctx.set_session = sid
            return redirect(ctx.root)
        if method == "POST" and not self.security.crumb_ok(ctx.principal, self._crumb_of(ctx)):
            return html("No valid crumb was included in the request", 403)
        if ctx.principal.anonymous:
            return html("Access Denied: anonymous is missing the Overall/Read permission", 403)
        if path.startswith("ciorch-admin/"):
            return self.admin(ctx, path[len("ciorch-admin/") :])
        if path.startswith("crumbIssuer/"):
            return self.crumb_issuer(ctx, path[len("crumbIssuer/") :])
        with self.state.lock:
            return self.route_locked(ctx, path, method)

    def _crumb_of(self, ctx: Ctx) -> str | None:
        return ctx.request.headers.get(CRUMB_FIELD) or ctx.request.form.get(CRUMB_FIELD)

    def crumb_issuer(self, ctx: Ctx, rest: str) -> Response:
        """``DefaultCrumbIssuer``: issuing a crumb creates the session it is bound to."""
        principal = ctx.principal
        if principal.session is None:
            sid = self.security.new_session(principal.user)
            principal = Principal(principal.user, principal.by_token, sid)
            ctx.set_session = sid
        crumb = self.security.crumb(principal)
        if rest in {"api/json", "api/json/"}:
            return ctx.json(
                {
                    "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                    "crumb": crumb,
                    "crumbRequestField": CRUMB_FIELD,
                }
            )
        if rest in {"api/xml", "api/xml/"}:
            xpath = ctx.request.args.get("xpath")
            if xpath and "crumbRequestField" in xpath and "crumb" in xpath:
                # Stapler evaluates concat(//crumbRequestField,":",//crumb) to a string.
                return Response(f"{CRUMB_FIELD}:{crumb}", content_type="text/plain")
            body = (
                '<defaultCrumbIssuer _class="hudson.security.csrf.DefaultCrumbIssuer">'
                f"<crumb>{crumb}</crumb><crumbRequestField>{CRUMB_FIELD}</crumbRequestField>"
                "</defaultCrumbIssuer>"
            )
            return Response(body, content_type="application/xml")
        raise ApiError(404, "Not Found")

    def admin(self, ctx: Ctx, rest: str) -> Response:
        """``/ciorch-admin/faults`` (GET/POST JSON) and ``/ciorch-admin/restart``."""
        if self.admin_hook is None:
            raise ApiError(404, "Not Found")
        body: dict[str, Any] = {}
        if ctx.request.method == "POST" and ctx.request.data:
            try:
                body = json.loads(ctx.request.data)
            except ValueError as exc:
                raise ApiError(400, f"bad JSON: {exc}") from exc
        elif ctx.request.method == "POST":
            body = dict(ctx.request.form)
        action = rest.strip("/")
        if ctx.request.method == "GET" and action == "faults":
            return ctx.json(self.faults.as_dict())
        if ctx.request.method != "POST":
            raise ApiError(405, "POST only")
        return ctx.json(self.admin_hook(action, body))

    # --------------------------------------------------------------------- objects
    def route_locked(self, ctx: Ctx, path: str, method: str) -> Response:
        parts = path.split("/")  # werkzeug has already percent-decoded the path
        if parts and parts[-1] == "":
            parts = parts[:-1]
        head = parts[0] if parts else ""
        if not parts:
            return html("Dashboard [Jenkins]")
        if parts == ["api", "json"]:
            return ctx.json(render_root(self.state, ctx.root, ctx.tree_depth()))
        if parts[:1] == ["me"]:
            if parts[1:] == ["api", "json"]:
                return ctx.json(render_user(ctx.principal.user, ctx.root))
            return html(ctx.principal.user)
        if head == "createItem":
            return self.create_item(ctx, "")
        if head == "job":
            return self.job_route(ctx, parts)
        if head == "queue":
            return self.queue_route(ctx, parts[1:])
        if head == "computer":
            return nodes_api.computer_route(self.state, ctx, parts[1:])
        if head == "label" and len(parts) >= 2 and parts[2:] in (["api", "json"], []):
            return ctx.json(render_label(self.state, parts[1], ctx.root, ctx.tree_depth()))
        if head == "label" and len(parts) == 5 and parts[2:] == ["loadStatistics", "api", "json"]:
            stats = self.state.load.label(self.state, parts[1])
            return ctx.json(stats.render(LABEL_CLASS, ctx.tree_depth()))
        if parts in (["overallLoad", "api", "json"], ["unlabeledLoad", "api", "json"]):
            load = self.state.load
            if head == "overallLoad":
                return ctx.json(load.overall.render(OVERALL_CLASS, ctx.tree_depth()))
            return ctx.json(load.unlabeled.render(UNLABELED_CLASS, ctx.tree_depth()))
        if parts[:3] == ["plugin", "swarm", "createSlave"]:
            return nodes_api.swarm_create(self.state, ctx)
        if head == "configuration-as-code" and len(parts) == 2:
            return self.casc_route(ctx, parts[1])
        if parts == ["jnlpJars", "agent.jar"]:
            return Response(b"PK\x05\x06" + b"\0" * 18, content_type="application/java-archive")
        raise ApiError(404, "Not Found")

    def casc_route(self, ctx: Ctx, action: str) -> Response:
        """``ConfigurationAsCode.doApply`` / ``doExport`` (both @RequirePOST, Administer)."""
        if ctx.request.method != "POST":
            raise ApiError(405, "POST only")
        if action == "apply":
            users = apply_casc(self.state, ctx.request.get_data(as_text=True))
            password = users.get(self.security.user)
            if password:
                self.security.password = password
            return Response("", 200)
        if action == "export":
            return Response(
                self.state.casc_document or "jenkins: {}\n", 200, content_type="application/x-yaml"
            )
        raise ApiError(404, "Not Found")

    def create_item(self, ctx: Ctx, folder: str) -> Response:
        """``ItemGroupMixIn.createTopLevelItem`` behind ``createItem?name=N`` + config.xml."""
        if ctx.request.method != "POST":
            raise ApiError(405, "POST only")
        name = ctx.request.args.get("name", "").strip()
        if not name:
            raise ApiError(400, "No name given", {"X-Error": "No name given"})
        if ctx.request.args.get("mode") == "copy":
            source = self.state.job(ctx.request.args.get("from", ""))
            self.state.create_job(folder, name, source.config.xml)
            return redirect(ctx.root + (folder and f"job/{folder}/") + f"job/{quote(name)}/")
        if not ctx.request.content_type:
            raise ApiError(400, "No content type given")
        xml = ctx.request.get_data(as_text=True)
        self.state.create_job(folder, name, xml)
        return Response("", 200)

    def job_route(self, ctx: Ctx, parts: list[str]) -> Response:
        names: list[str] = []
        rest = parts
        while len(rest) >= 2 and rest[0] == "job":
            names.append(rest[1])
            rest = rest[2:]
        if not names:
            raise ApiError(404, "Not Found")
        full = "/".join(names)
        method = ctx.request.method
        if rest == ["createItem"]:
            self.state.job(full)
            return self.create_item(ctx, full)
        job = self.state.job(full)
        if not rest:
            return html(f"{job.name} [Jenkins]")
        action = rest[0]
        if rest == ["api", "json"]:
            return ctx.json(render_job(self.state, job, ctx.root, ctx.tree_depth()))
        if action == "config.xml":
            if method == "POST":
                self.state.reconfigure(full, ctx.request.get_data(as_text=True))
                return Response("", 200)
            return Response(job.config.xml, content_type="application/xml")
        if action in _POST_ONLY and method != "POST":
            raise ApiError(405, "This URL requires POST")  # @RequirePOST
        if action in {"doDelete", "build", "buildWithParameters"}:
            if action == "doDelete":
                self.state.delete_job(full)
                parent = "".join(f"job/{quote(p)}/" for p in names[:-1])
                return redirect(ctx.root + parent)
            return self.trigger(ctx, full, action == "buildWithParameters")
        if action in {"enable", "disable"}:
            self.state.set_disabled(full, action == "disable")
            return redirect(ctx.root + job.url_path)
        return self.build_route(ctx, full, rest)

    def trigger(self, ctx: Ctx, full: str, with_params: bool) -> Response:
        """``ParameterizedJobMixIn.doBuild`` / ``doBuildWithParameters`` (API.md A, item 1-2)."""
        submitted: dict[str, str] | None = None
        if with_params:
            submitted = {}
            for source in (ctx.request.args, ctx.request.form):
                for key in source:
                    if key not in {"token", "delay", "cause", CRUMB_FIELD}:
                        submitted[key] = source.get(key, "")
        delay = _parse_delay(ctx.request.args.get("delay"))
        item, merged = self.state.trigger(full, submitted, ctx.principal.user, delay)
        location = f"{ctx.root}queue/item/{item.id}/"
        if merged and with_params:
            return redirect(location, 303)
        return Response("", 201, headers={"Location": location})

    def build_route(self, ctx: Ctx, full: str, rest: list[str]) -> Response:
        job = self.state.job(full)
        ref = rest[0]
        aliases: dict[str, Callable[[Build], bool]] = {
            "lastBuild": lambda b: True,
            "lastCompletedBuild": lambda b: not b.building,
            "lastSuccessfulBuild": lambda b: b.result in {"SUCCESS", "UNSTABLE"},
            "lastFailedBuild": lambda b: b.result == "FAILURE",
            "lastStableBuild": lambda b: b.result == "SUCCESS",
        }
        if ref in aliases:
            found = [n for n, b in job.builds.items() if aliases[ref](b)]
            if not found:
                raise ApiError(404, "Not Found")
            number = max(found)
        elif ref.isdigit():
            number = int(ref)
        else:
            raise ApiError(404, "Not Found")
        build = self.state.build(full, number)
        tail = rest[1:]
        if not tail:
            return html(f"{job.name} #{number}")
        if tail == ["api", "json"]:
            return ctx.json(render_build(self.state, build, ctx.root, ctx.tree_depth()))
        if tail in (["consoleText"], ["logText", "progressiveText"]):
            return Response("".join(build.console), content_type="text/plain;charset=utf-8")
        if tail == ["stop"]:
            if ctx.request.method != "POST":
                raise ApiError(405, "This URL requires POST")
            self.state.request_stop(build, ctx.principal.user)
            return redirect(f"{ctx.root}{job.url_path}{number}/")
        raise ApiError(404, "Not Found")

    def queue_route(self, ctx: Ctx, rest: list[str]) -> Response:
        if rest in ([], ["api", "json"]):
            if not rest:
                return html("Build Queue")
            return ctx.json(render_queue(self.state, ctx.root, ctx.tree_depth()))
        if rest == ["cancelItem"]:
            if ctx.request.method != "POST":
                raise ApiError(405, "POST only")
            try:
                item_id = int(ctx.request.args.get("id", ""))
            except ValueError as exc:
                raise ApiError(404, "no such item") from exc
            self.state.cancel(item_id)
            return Response("", 204)
        if len(rest) >= 2 and rest[0] == "item" and rest[1].isdigit():
            item = self.state.item(int(rest[1]))
            if rest[2:] == ["api", "json"]:
                return ctx.json(render_item(self.state, item, ctx.root, ctx.tree_depth()))
            if not rest[2:]:
                return html(f"Queue item {item.id}")
            if rest[2:] == ["cancelQueue"] and ctx.request.method == "POST":
                self.state.cancel(item.id)
                return Response("", 204)
        raise ApiError(404, "Not Found")


_POST_ONLY = {"doDelete", "build", "buildWithParameters", "enable", "disable"}


def _parse_delay(text: str | None) -> float | None:
    """``?delay=5sec`` (``TimeDuration``): seconds, with or without the ``sec`` suffix."""
    if not text:
        return None
    text = text.strip().lower().removesuffix("sec").removesuffix("s")
    try:
        return max(0.0, float(text))
    except ValueError:
        return None
