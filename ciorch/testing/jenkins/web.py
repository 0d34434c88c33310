"""Small HTTP helpers shared by the route modules: the request context and answer builders."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from .security import Principal
from .tree import parse_tree, prune

__all__ = ["Ctx", "html", "redirect"]


class Ctx:
    """One request: the parsed request, who sent it, and the root URL to answer with."""

    def __init__(self, request: Request, principal: Principal, root: str) -> None:
        self.request = request
        self.principal = principal
        self.root = root
        self.set_session: str | None = None

    def depth(self) -> int:
        try:
            return int(self.request.args.get("depth", "0"))
        except ValueError:
            return 0

    def param(self, name: str, default: str = "") -> str:
        """A stapler request parameter: query string or form body."""
        value = self.request.args.get(name)
        if value is None:
            value = self.request.form.get(name)
        return default if value is None else value

    def json(self, obj: dict[str, Any], status: int = 200) -> Response:
        """``?tree=`` overrides depth: the renderers were called deep enough, prune here."""
        tree = self.request.args.get("tree")
        if tree:
            obj = prune(obj, parse_tree(tree))
        return Response(json.dumps(obj), status, content_type="application/json;charset=utf-8")

    def tree_depth(self) -> int:
        """Depth to render at: the asked one, or deep enough for any ``tree``."""
        return 10 if self.request.args.get("tree") else self.depth()


def html(text: str = "", status: int = 200) -> Response:
    return Response(
        f"<html><body>{text}</body></html>", status, content_type="text/html;charset=utf-8"
    )


def redirect(location: str, status: int = 302) -> Response:
    return Response("", status, headers={"Location": location})
