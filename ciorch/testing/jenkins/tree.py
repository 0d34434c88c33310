"""``?tree=`` and ``?depth=`` as stapler's ``NamedPathPruner`` and ``TreePruner.ByDepth`` do.

The renderers build each object at the requested depth; a ``tree`` renders deep and then keeps
only the named properties (``_class`` always stays), so ``tree`` overrides depth as in stapler.
A named property without a sub-tree whose value is an object keeps only that object's
``_class`` (which is why python-jenkins sees ``{}``-like children at the end of a jobs tree).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Tree", "parse_tree", "prune"]

Tree = dict[str, "Tree"]


def parse_tree(spec: str) -> Tree:
    """Parse ``a,b[c,d{0,5}],e`` into nested dicts; ``{m,n}`` ranges are accepted and ignored."""
    pos = 0

    def parse_level() -> Tree:
        nonlocal pos
        out: Tree = {}
        name = ""
        while pos < len(spec):
            ch = spec[pos]
            pos += 1
            if ch == ",":
                if name:
                    out.setdefault(name.strip(), {})
                name = ""
            elif ch == "[":
                out[name.strip()] = parse_level()
                name = ""
            elif ch == "]":
                break
            elif ch == "{":
                end = spec.find("}", pos)
                pos = len(spec) if end < 0 else end + 1
            else:
                name += ch
        if name.strip():
            out.setdefault(name.strip(), {})
        return out

    return parse_level()


def _prune_value(value: Any, sub: Tree) -> Any:
    if isinstance(value, list):
        return [_prune_value(v, sub) for v in value]
    if isinstance(value, dict):
        return prune(value, sub)
    return value


def prune(obj: dict[str, Any], tree: Tree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "_class" in obj:
        out["_class"] = obj["_class"]
    for key, sub in tree.items():
        if key in obj and key != "_class":
            out[key] = _prune_value(obj[key], sub)
    return out
