"""A Jenkins controller emulator for tests, driven through the real python-jenkins client.

Jenkins itself cannot run in ciorch's test environments, so this package answers as a real
Jenkins 2.479 does for the API surface ciorch uses (``shared/reference/API.md`` sections A and
C): same paths, status codes, headers, JSON shapes and the same asynchrony (a trigger answers a
queue item; the build appears later). Use it like moto::

    import jenkins
    from ciorch.testing.jenkins import JenkinsEmulator, VirtualAgent

    with JenkinsEmulator(admin=("admin", "token")) as emu:       # binds 127.0.0.1:<ephemeral>
        client = jenkins.Jenkins(emu.url, "admin", "token")
        client.create_job("hello", FREESTYLE_XML)                # <canRoam>true</canRoam> ...
        VirtualAgent.create(emu, "agent-1", labels="linux")      # a connected node, no process
        queue_id = client.build_job("hello")                     # 201 + Location queue/item/N/
        # poll client.get_queue_item(queue_id) until it has "executable", then get_build_info

What is emulated
    Security: basic auth with the admin's API token (no crumb needed) or password/form login
    (a session; POSTs then need the crumb from ``/crumbIssuer/api/json``, else 403 "No valid
    crumb was included in the request"); anonymous requests get 403. Jobs from ``config.xml``
    (freestyle and folders; parameters, ``disabled``, ``concurrentBuild``, ``canRoam`` /
    ``assignedNode``). The queue (``hudson.model.Queue``): quiet period, merged duplicate
    triggers, waiting/blocked/buildable/pending/left items with Jenkins' ``why`` texts,
    ``stuck``, cancelItem, left items kept 5 minutes. Nodes (``DumbSlave`` with an inbound
    launcher, ``SwarmSlave`` via ``/plugin/swarm/createSlave``), their two offline flags,
    executors, labels and label expressions, the JNLP file with the agent secret, and
    scheduling by label and mode (``Node.canTake``). Builds with console text, stop and results.
    Load statistics (``/label/X/loadStatistics``, ``/computer/N/loadStatistics``,
    ``/overallLoad``, ``/unlabeledLoad``) as moving averages, sampled every ``load_clock``
    seconds (Jenkins: 10).

Agents
    The remoting protocol of ``agent.jar`` is not emulated. Nodes connect through a small JSON
    protocol under ``/ciorch-agent/`` (see :mod:`ciorch.testing.jenkins.agent_api`) spoken by
    the test agent :mod:`ciorch.testing.agent` (a process or the ``ciorch/agent-test`` image),
    which runs each build's ``hudson.tasks.Shell`` steps with ``/bin/sh -xe``. In-process
    :class:`VirtualAgent` objects connect nodes without any process; their builds take the job's
    ``<ciorch.simulatedSeconds>`` and end with ``<ciorch.simulatedResult>`` (root-element
    children of ``config.xml``, an emulator extension). An HTTP agent that stops polling for
    ``agent_timeout`` seconds counts as disconnected.

Faults
    ``emu.set_down(True)`` closes the listening socket and open connections (connection refused)
    until ``set_down(False)``; ``emu.set_faults(latency=0.2)`` delays every answer;
    ``emu.set_faults(error_rate=0.3, error_status=503, seed=7)`` answers random 5xx from a
    seeded RNG; ``emu.restart(keep_state=True)`` restarts on the same port. A process started
    with ``python -m ciorch.testing.jenkins --port N --admin USER:TOKEN`` takes the same knobs
    as JSON on ``POST /ciorch-admin/faults`` (``latency``, ``error_rate``, ``error_status``,
    ``seed``, ``down`` with ``down_for`` seconds) and ``POST /ciorch-admin/restart``
    (``keep_state``), authenticated as the admin.

Differences from Jenkins are noted where they are made ("not confirmed" behaviours follow
API.md's documented choice). The built-in node has 0 executors unless ``built_in_executors``
is given; its builds are simulated like a virtual agent's.
"""

from __future__ import annotations

from .emulator import JenkinsEmulator
from .labels import LabelSyntaxError, parse_label
from .server import JENKINS_VERSION, Faults
from .virtual import VirtualAgent

__all__ = [
    "JENKINS_VERSION",
    "Faults",
    "JenkinsEmulator",
    "LabelSyntaxError",
    "VirtualAgent",
    "parse_label",
]
