"""The README's configuration reference and the dataclass defaults follow the schemas."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ciorch.config import schema, spec
from ciorch.config.reference import main as reference_main

ROOT = Path(__file__).parent.parent.parent


def test_readme_reference_is_current() -> None:
    assert reference_main(["--check", str(ROOT / "README.md")]) == 0


def test_stale_readme_is_detected(tmp_path: Path) -> None:
    stale = tmp_path / "README.md"
    stale.write_text((ROOT / "README.md").read_text().replace("`state/ciorch.db`", "`x.db`"))
    assert reference_main(["--check", str(stale)]) == 1


def _defaults(kind: str, *path: str) -> dict[str, object]:
    node = schema(kind)
    for part in path:
        node = (
            node["properties"][part] if part in node.get("properties", {}) else node["$defs"][part]
        )
    return {k: v["default"] for k, v in node["properties"].items() if "default" in v}


@pytest.mark.parametrize(
    ("cls", "kind", "path", "renames"),
    [
        (spec.AgentTemplate, "team", ("agent",), {}),
        (spec.PoolSettings, "team", ("pool",), {}),
        (spec.MasterSpec, "team", ("master",), {}),
        (spec.Caps, "controller", ("caps",), {}),
    ],
)
def test_dataclass_defaults_match_schema(
    cls: type, kind: str, path: tuple[str, ...], renames: dict[str, str]
) -> None:
    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    for name, default in _defaults(kind, *path).items():
        assert name in fields, f"{cls.__name__} has no field {name}"
        assert fields[name] == default, f"{cls.__name__}.{name}"
