"""The configuration reference in README.md, generated from the JSON Schemas so the
two cannot drift apart. ``python -m ciorch.config.reference --write README.md`` rewrites
the part between the markers; ``--check`` exits 1 when it is out of date (make lint)."""

from __future__ import annotations

__all__ = ["render"]

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ciorch.config.load import schema

BEGIN = "<!-- config-reference:begin (generated from ciorch/schemas; make docs) -->"
END = "<!-- config-reference:end -->"


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = root["$defs"][ref.split("/")[-1]]
        return {**resolved, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: dict[str, Any]) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type", "")
    if isinstance(kind, list):
        return " \\| ".join(kind)
    if kind == "array" and isinstance(node.get("items"), dict):
        inner = node["items"].get("type", "object")
        return f"list of {inner}" if isinstance(inner, str) else "list"
    if kind == "object" and "env" in node.get("properties", {}):
        return "secret (`{env: VAR}` or `{file: path}`)"
    return str(kind) or "object"


def _rows(root: dict[str, Any], node: dict[str, Any], prefix: str) -> Iterator[str]:
    node = _resolve(root, node)
    required = set(node.get("required", []))
    for name, raw_child in node.get("properties", {}).items():
        child = _resolve(root, raw_child)
        path = f"{prefix}{name}"
        default = f"`{child['default']}`" if "default" in child else ""
        if name in required:
            default = "required"
        description = " ".join(str(child.get("description", "")).split())
        yield f"| `{path}` | {_type(child)} | {default} | {description} |"
        if child.get("type") == "object" and "env" not in child.get("properties", {}):
            yield from _rows(root, child, f"{path}.")
            extra = child.get("additionalProperties")
            if isinstance(extra, dict) and extra.get("type") != "string":
                yield from _rows(root, extra, f"{path}.<{name.rstrip('s')}>.")
        if child.get("type") == "array" and isinstance(child.get("items"), dict):
            items = _resolve(root, child["items"])
            if items.get("type") == "object":
                yield from _rows(root, items, f"{path}[].")


def render() -> str:
    parts = [BEGIN]
    for kind, title in (("controller", "ciorch.yaml"), ("team", "teams/&lt;team&gt;.yaml")):
        root = schema(kind)
        parts += [
            "",
            f"#### {title}",
            "",
            str(root.get("description", "")),
            "",
            "| field | type | default | meaning |",
            "|---|---|---|---|",
            *_rows(root, root, ""),
        ]
    parts += ["", END]
    return "\n".join(parts)


def _replace(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < 0:
        raise SystemExit(f"README has no {BEGIN!r} ... {END!r} markers")
    return text[:start] + render() + text[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", type=Path, help="exit 1 if this README is out of date")
    group.add_argument("--write", type=Path, help="rewrite the reference in this README")
    args = parser.parse_args(argv)
    target: Path = args.check or args.write
    text = target.read_text(encoding="utf-8")
    new = _replace(text)
    if args.write:
        target.write_text(new, encoding="utf-8")
        return 0
    if new != text:
        print(f"{target}: configuration reference is out of date; run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
