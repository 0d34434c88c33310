"""Load statistics (``hudson.model.LoadStatistics`` and subclasses; API.md C1).

Moving averages, not counts: every ``clock`` seconds (``hudson.model.LoadStatistics.clock``,
10 s in Jenkins) each series takes ``sec10 = 0.9 * old + 0.1 * sample``
(``TimeSeries.update``); ``min`` is updated every 6th tick and ``hour`` every 360th
(``MultiStageTimeSeries.update``), each with the raw sample. Histories are newest first and
capped at 2160 / 2880 / 1344 points. Values are Java floats (32 bit), printed as Java does.

Per sample (``LoadStatisticsSnapshot.Builder``): an online node adds its executors to
defined, online and busy or idle (available = idle and accepting tasks); an offline node
(temporarily too) only to defined (inbound agents are never "connecting"). Only labels with a
node are updated; a label left without nodes is dropped with its history (``trimLabels``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import queue_logic
from .labels import LabelSyntaxError, parse_label
from .model import BUILT_IN_LABEL, Node

if TYPE_CHECKING:
    from .state import JenkinsState

__all__ = ["LoadStats", "LoadTracker", "label_key"]

SERIES = (
    "definedExecutors",
    "onlineExecutors",
    "connectingExecutors",
    "busyExecutors",
    "idleExecutors",
    "availableExecutors",
    "queueLength",
)
_STAGES = (("sec10", 2160), ("min", 2880), ("hour", 1344))
LABEL_CLASS = "hudson.model.Label$1"
OVERALL_CLASS = "hudson.model.OverallLoadStatistics"
UNLABELED_CLASS = "jenkins.model.UnlabeledLoadStatistics"


def _f32(value: float) -> float:
    """Round to a Java ``float``."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


DECAY = _f32(0.9)  # hudson.model.LoadStatistics.decay, a Java float
_GAIN = _f32(1 - DECAY)  # (1 - decay) in float arithmetic: 0.100000024


def _java(value: float) -> float:
    """``Float.toString``: the shortest decimal that reads back as the same float."""
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if _f32(float(text)) == value:
            return float(text)
    return value


@dataclass
class _TimeSeries:
    size: int
    history: list[float] = field(default_factory=lambda: [0.0])

    def update(self, sample: float) -> None:
        data = _f32(_f32(self.history[0] * DECAY) + _f32(sample * _GAIN))
        self.history = [data, *self.history[: self.size - 1]]


@dataclass
class _MultiStage:
    stages: dict[str, _TimeSeries] = field(
        default_factory=lambda: {name: _TimeSeries(size) for name, size in _STAGES}
    )
    counter: int = 0

    def update(self, sample: float) -> None:
        self.counter = (self.counter + 1) % 360  # 1 hour / 10 s
        self.stages["sec10"].update(sample)
        if self.counter % 6 == 0:
            self.stages["min"].update(sample)
        if self.counter == 0:
            self.stages["hour"].update(sample)

    def render(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"_class": "hudson.model.MultiStageTimeSeries"}
        if depth >= 1:
            for name, series in self.stages.items():
                entry: dict[str, Any] = {"_class": "hudson.model.TimeSeries"}
                if depth >= 2:
                    entry["history"] = [_java(v) for v in series.history]
                    entry["latest"] = _java(series.history[0])
                out[name] = entry
        return out


@dataclass
class LoadStats:
    """One ``LoadStatistics`` object: a label's, the overall or the unlabeled one."""

    series: dict[str, _MultiStage] = field(
        default_factory=lambda: {name: _MultiStage() for name in SERIES}
    )

    def update(self, sample: dict[str, float]) -> None:
        for name, series in self.series.items():
            series.update(sample[name])

    def render(self, cls: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"_class": cls}
        for name in sorted(SERIES):
            out[name] = self.series[name].render(depth)
        out["totalExecutors"] = out["onlineExecutors"]  # deprecated alias, same object
        if cls == OVERALL_CLASS:
            out["totalQueueLength"] = out["queueLength"]
        return out


def _snapshot(nodes: Iterable[Node], queue_length: int) -> dict[str, float]:
    sample = dict.fromkeys(SERIES, 0.0)
    for node in nodes:
        sample["definedExecutors"] += node.num_executors
        if not node.online:
            continue  # offline or temporarily offline; inbound agents never "connecting"
        idle = len(node.idle_executors())
        sample["onlineExecutors"] += node.num_executors
        sample["idleExecutors"] += idle
        sample["availableExecutors"] += idle
        sample["busyExecutors"] += len(node.executors) - idle
    sample["queueLength"] = float(queue_length)
    return sample


def label_key(text: str) -> str:
    """The label's name (``Label.getExpression``, canonical form); bad syntax stays as is."""
    try:
        return parse_label(text).canonical()
    except LabelSyntaxError:
        return text


class LoadTracker:
    """The ``LoadStatisticsUpdater`` periodic work over one :class:`JenkinsState`."""

    def __init__(self, clock: float) -> None:
        self.clock = clock
        self.next_tick: float | None = None
        self.labels: dict[str, LoadStats] = {}
        self.overall = LoadStats()
        self.unlabeled = LoadStats()

    def _nodes(self, state: JenkinsState, name: str) -> list[Node]:
        try:
            expr = parse_label(name)
        except LabelSyntaxError:
            return []
        return [n for n in state.nodes.values() if n.matches(expr)]

    def label(self, state: JenkinsState, text: str) -> LoadStats:
        """``Jenkins.getLabel(X).loadStatistics``: kept while the label has a node."""
        name = label_key(text)
        if not self._nodes(state, name):
            self.labels.pop(name, None)  # trimLabels on node removal
            return LoadStats()
        return self.labels.setdefault(name, LoadStats())

    def maybe_tick(self, state: JenkinsState, now: float) -> None:
        if self.next_tick is None:
            self.next_tick = now + self.clock
        elif now >= self.next_tick:
            self.next_tick = now + self.clock
            self.tick(state)

    def tick(self, state: JenkinsState) -> None:
        buildable = [i for i in state.live_items() if i.state == "buildable"]
        item_labels = [queue_logic.item_label(state, i) for i in buildable]
        names = set(self.labels)
        for node in state.nodes.values():
            names |= node.labels
        names |= {label.canonical() for label in item_labels if label is not None}
        for name in sorted(names):
            nodes = self._nodes(state, name)
            if not nodes:
                self.labels.pop(name, None)  # trimLabels: no node, no history
                continue
            queued = sum(1 for label in item_labels if label and label.canonical() == name)
            self.labels.setdefault(name, LoadStats()).update(_snapshot(nodes, queued))
        agents = state.agent_nodes()
        self.overall.update(_snapshot(agents, len(buildable)))
        unlabeled = sum(1 for label in item_labels if label is None)
        normal = [n for n in agents if n.mode == "NORMAL"]
        self.unlabeled.update(_snapshot(normal, unlabeled))

    @staticmethod
    def self_label(node: Node) -> str:
        return BUILT_IN_LABEL if node.built_in else node.name
