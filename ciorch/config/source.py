"""Reading YAML so that every value can be traced back to its line.

PyYAML's ``safe_load`` forgets where values came from and silently keeps the last of
two duplicate keys. Configuration errors must name the file and line, and a duplicate
key is almost always a mistake, so this module composes the node tree itself and
records a line for every path while building plain Python values.
"""

from __future__ import annotations

__all__ = ["Path", "Source", "format_path", "read_yaml"]

import math
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from ciorch.errors import ConfigProblem

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("agents", "build-php", "cpus")`` -> ``agents.build-php.cpus``;
    list indexes as ``repositories[0].url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass
class Source:
    """One configuration file: its parsed data and the line of each path."""

    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """Line of ``path``, or of its nearest ancestor that has one (1 for the top)."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def problem(self, path: Path, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.line(path), format_path(path), message)


MAX_VALUES = 100_000  # what aliases may expand to: a bound against "billion laughs"


class _TooBig(Exception):
    pass


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source: Source) -> None:
        self.loader = loader
        self.source = source
        self.problems: list[ConfigProblem] = []
        self.count = 0
        self.open: set[int] = set()  # collection nodes on the current path

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self.open:
                self.problems.append(
                    ConfigProblem(self.source.file, line, format_path(path), "recursive YAML alias")
                )
                return None
            self.open.add(id(node))
            try:
                return self._collection(node, path)
            finally:
                self.open.discard(id(node))
        value = self.loader.construct_object(node, deep=True)
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append(
                ConfigProblem(self.source.file, line, format_path(path), f"{value} is not a number")
            )
            return None
        return value

    def _collection(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
            result: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.problems.append(
                        ConfigProblem(
                            self.source.file,
                            key_node.start_mark.line + 1,
                            format_path(path),
                            "a mapping key must be a plain value",
                        )
                    )
                    continue
                key = str(key)
                line = key_node.start_mark.line + 1
                if key in first_line:
                    self.problems.append(
                        ConfigProblem(
                            self.source.file,
                            line,
                            format_path((*path, key)),
                            f"duplicate key (first at line {first_line[key]})",
                        )
                    )
                    continue
                first_line[key] = line
                self.source.lines[(*path, key)] = line
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.source.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index)))
            return items
        raise AssertionError(node)  # pragma: no cover - only collections come here


def read_yaml(file: FsPath, display: str | None = None) -> tuple[Source, list[ConfigProblem]]:
    """Parse ``file``; return its Source and the problems found while reading it
    (unreadable file, YAML syntax, duplicate keys). ``display`` is the name used in
    messages (defaults to the path as given)."""
    name = display or str(file)
    source = Source(name, None)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return source, [ConfigProblem(name, None, "", "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return source, [ConfigProblem(name, None, "", f"cannot read file: {exc}")]
    loader = yaml.SafeLoader(text)
    builder = _Builder(loader, source)
    try:
        node = loader.get_single_node()
        if node is None:
            return source, [ConfigProblem(name, 1, "", "file is empty")]
        source.lines[()] = node.start_mark.line + 1
        source.data = builder.build(node, ())
    except _TooBig:
        message = f"YAML aliases expand to more than {MAX_VALUES} values"
        return source, [ConfigProblem(name, None, "", message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        return source, [ConfigProblem(name, line, "", f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:
        return source, [ConfigProblem(name, None, "", f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    return source, builder.problems
