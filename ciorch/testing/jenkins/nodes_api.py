"""``/computer/...`` (``hudson.model.ComputerSet``, ``Computer``) and the Swarm plugin's
``/plugin/swarm/createSlave`` (``hudson.plugins.swarm.PluginImpl.doCreateSlave``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from .labels import split_labels
from .load import LABEL_CLASS
from .model import Node
from .render import render_computer, render_computer_set
from .state import ApiError, JenkinsState
from .web import Ctx, html, redirect

__all__ = ["computer_route", "swarm_create"]


def _post(ctx: Ctx) -> None:
    if ctx.request.method != "POST":
        raise ApiError(405, "POST only")


def computer_route(state: JenkinsState, ctx: Ctx, rest: list[str]) -> Response:
    if not rest:
        return html("Nodes [Jenkins]")
    if rest == ["api", "json"]:
        return ctx.json(render_computer_set(state, ctx.root, ctx.tree_depth()))
    if rest == ["doCreateItem"]:
        _post(ctx)
        return _create(state, ctx)
    node = state.node(rest[0])
    tail = rest[1:]
    if not tail:
        return html(f"{node.display_name} [Jenkins]")
    if tail == ["api", "json"]:
        return ctx.json(render_computer(state, node, ctx.root, ctx.tree_depth()))
    if tail == ["loadStatistics", "api", "json"]:  # the node's self label's statistics
        stats = state.load.label(state, state.load.self_label(node))
        return ctx.json(stats.render(LABEL_CLASS, ctx.tree_depth()))
    if tail == ["doDelete"]:
        _post(ctx)
        state.remove_node(node.name)
        return redirect(ctx.root + "computer/")
    if tail == ["toggleOffline"]:
        _post(ctx)
        state.toggle_offline(node.name, ctx.param("offlineMessage"), ctx.principal.user)
        return redirect(f"{ctx.root}computer/{quote(node.name)}/")
    if tail in (["jenkins-agent.jnlp"], ["slave-agent.jnlp"]) and not node.built_in:
        return _jnlp(state, ctx, node)
    if tail == ["config.xml"] and not node.built_in:
        return Response(_node_xml(node), content_type="application/xml")
    raise ApiError(404, "Not Found")


def _create(state: JenkinsState, ctx: Ctx) -> Response:
    """``ComputerSet.doDoCreateItem`` with a ``DumbSlave`` form (python-jenkins create_node)."""
    name = ctx.param("name").strip()
    if not name:
        raise ApiError(400, "Query parameter 'name' is required")
    if name in state.nodes:
        raise ApiError(400, f"Agent called ‘{name}’ already exists")
    try:
        form: dict[str, Any] = json.loads(ctx.param("json", "{}"))
    except ValueError as exc:
        raise ApiError(400, f"malformed json form field: {exc}") from exc
    try:
        executors = int(form.get("numExecutors", 1))
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "Invalid number of executors") from exc
    if executors < 1:
        raise ApiError(400, "Invalid number of executors")
    mode = str(form.get("mode", "NORMAL"))
    if mode not in {"NORMAL", "EXCLUSIVE"}:
        raise ApiError(500, f"No enum constant hudson.model.Node.Mode.{mode}")
    node = Node(
        name=name,
        num_executors=executors,
        label_string=str(form.get("labelString") or ""),
        mode=mode,
        description=str(form.get("nodeDescription") or ""),
        remote_fs=str(form.get("remoteFS") or "/home/jenkins"),
    )
    state.add_node(node)
    return redirect(ctx.root + "computer/")


def _jnlp(state: JenkinsState, ctx: Ctx, node: Node) -> Response:
    """``SlaveComputer.getJnlpJars``/``slave-agent.jnlp.jelly``: the launch file with the secret."""
    args = [state.secret(node.name), node.name, "-url", ctx.root]
    arguments = "".join(f"<argument>{escape(a)}</argument>" for a in args)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<jnlp codebase="{escape(ctx.root)}computer/{escape(quote(node.name))}/" spec="1.0+">'
        f"<information><title>Agent for {escape(node.name)}</title>"
        "<vendor>Jenkins project</vendor></information>"
        "<security><all-permissions/></security>"
        f'<resources><j2se version="1.8+"/><jar href="{escape(ctx.root)}jnlpJars/remoting.jar"/>'
        "</resources>"
        f'<application-desc main-class="hudson.remoting.jnlp.Main">{arguments}</application-desc>'
        "</jnlp>"
    )
    return Response(body, content_type="application/x-java-jnlp-file")


def _node_xml(node: Node) -> str:
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n<slave>"
        f"<name>{escape(node.name)}</name><description>{escape(node.description)}</description>"
        f"<remoteFS>{escape(node.remote_fs)}</remoteFS><numExecutors>{node.num_executors}"
        f"</numExecutors><mode>{node.mode}</mode>"
        '<retentionStrategy class="hudson.slaves.RetentionStrategy$Always"/>'
        '<launcher class="hudson.slaves.JNLPLauncher"/>'
        f"<label>{escape(node.label_string)}</label><nodeProperties/></slave>"
    )


def swarm_create(state: JenkinsState, ctx: Ctx) -> Response:
    """``PluginImpl.doCreateSlave`` (API.md A and C4)."""
    _post(ctx)
    name = ctx.param("name").strip()
    if not name:
        raise ApiError(400, "Missing name")
    mode = ctx.param("mode", "NORMAL")
    if mode not in {"NORMAL", "EXCLUSIVE"}:
        # Node.Mode.valueOf is case-sensitive: lower case fails (not confirmed: status 500).
        raise ApiError(500, f"No enum constant hudson.model.Node.Mode.{mode}")
    try:
        executors = int(ctx.param("executors", "1"))
    except ValueError as exc:
        raise ApiError(400, "executors must be a number") from exc
    hash_ = ctx.param("hash").strip()
    if hash_:
        name = f"{name}-{hash_}"
    delete_existing = ctx.param("deleteExistingClients").lower() == "true"
    keep = ctx.param("keepDisconnectedClients").lower() == "true"
    existing = state.nodes.get(name)
    if existing is not None:
        if delete_existing:
            state.remove_node(name)
        elif hash_ and existing.connected:
            raise ApiError(409, f'Agent "{name}" is already created and on-line.')
        elif hash_:
            state.remove_node(name)  # same host and fsroot coming back: replace the node
        else:
            raise ApiError(409, f'Agent "{name}" already exists.')
    labels = " ".join(split_labels(ctx.param("labels")))
    description = ctx.param("description").strip()
    address = ctx.request.remote_addr or "127.0.0.1"
    node = Node(
        name=name,
        num_executors=max(1, executors),
        label_string=("swarm " + labels).strip(),
        mode=mode,
        description=f"Swarm agent from {address}" + (f": {description}" if description else ""),
        remote_fs=ctx.param("remoteFsRoot", "/home/jenkins"),
        swarm=True,
        keep_disconnected=keep,
    )
    state.add_node(node)
    body = f"name={name}\nsecret={state.secret(name)}\n"
    return Response(body, 200, content_type="text/plain;charset=utf-8")
