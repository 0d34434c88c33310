"""In-process virtual agents: connect nodes and run simulated builds without any process.

A virtual agent holds the node's connection as an inbound agent would, but its builds run inside
the emulator's scheduler: each takes the job's ``<ciorch.simulatedSeconds>`` (default 0) and
ends with ``<ciorch.simulatedResult>`` (default SUCCESS); shell steps are not run (use the real
test agent, :mod:`ciorch.testing.agent`, for that). ``kill()`` models an agent lost mid-build
(API.md C2: FAILURE, "Agent went offline during the build"); ``disconnect()`` a clean stop.
"""

from __future__ import annotations

from .emulator import JenkinsEmulator
from .model import Node

__all__ = ["VirtualAgent"]


class VirtualAgent:
    """One connected (or connectable) node driven from the test's own thread."""

    def __init__(self, emulator: JenkinsEmulator, name: str) -> None:
        self.emulator = emulator
        self.name = name

    @classmethod
    def create(
        cls,
        emulator: JenkinsEmulator,
        name: str,
        *,
        executors: int = 1,
        labels: str = "",
        mode: str = "NORMAL",
        connect: bool = True,
    ) -> VirtualAgent:
        """Create a permanent inbound node (as ``create_node`` with a JNLP launcher would)."""
        emulator.state.add_node(
            Node(name=name, num_executors=executors, label_string=labels, mode=mode)
        )
        agent = cls(emulator, name)
        if connect:
            agent.connect()
        return agent

    @classmethod
    def swarm(
        cls,
        emulator: JenkinsEmulator,
        name: str,
        *,
        labels: str = "",
        executors: int = 1,
        keep_disconnected: bool = False,
    ) -> VirtualAgent:
        """Register and connect a Swarm client's node (``hudson.plugins.swarm.SwarmSlave``)."""
        emulator.state.add_node(
            Node(
                name=name,
                num_executors=executors,
                label_string=("swarm " + labels).strip(),
                description="Swarm agent from 127.0.0.1",
                swarm=True,
                keep_disconnected=keep_disconnected,
            )
        )
        agent = cls(emulator, name)
        agent.connect()
        return agent

    @property
    def secret(self) -> str:
        return self.emulator.state.secret(self.name)

    def connect(self) -> None:
        self.emulator.state.connect(self.name, self.secret, "virtual")

    def disconnect(self) -> None:
        self.emulator.state.disconnect(self.name, lost=False)

    def kill(self) -> None:
        """The agent's process dies: the channel breaks (``ChannelTermination``)."""
        self.emulator.state.disconnect(self.name, lost=True)

    @property
    def connected(self) -> bool:
        node = self.emulator.state.nodes.get(self.name)
        return bool(node and node.connected)
