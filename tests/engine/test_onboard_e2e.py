"""End to end on both runtimes, with real master containers (the Jenkins emulator image):
onboard three teams, onboard again (nothing changes), upgrade all, and an upgrade to a
master that never becomes healthy rolls the canary back and leaves the others alone."""

from __future__ import annotations

import jenkins
import pytest
from _engine_kit import Controller

from ciorch.engine.masters import upgrade_masters
from ciorch.engine.onboard import offboard_team, onboard_team
from ciorch.model import MasterState, TeamId
from ciorch.plan.onboard import ADMIN_USER, MasterAction

pytestmark = [pytest.mark.docker, pytest.mark.slow]
TEAMS = ("edge", "karaoke", "payments")


def onboard_all(controller: Controller) -> dict[str, str]:
    fleet = controller.fleet()
    urls = {}
    with controller.engine() as engine:
        for name in TEAMS:
            team = fleet.team(name)
            assert team is not None
            result = onboard_team(engine, team, timeout=60)
            assert result.applied
            assert result.url is not None
            urls[name] = result.url
    return urls


def client(controller: Controller, team: str, url: str) -> jenkins.Jenkins:
    with controller.engine() as engine:
        secret = engine.store.get_credential(TeamId(team)).secret
    return jenkins.Jenkins(url, ADMIN_USER, secret, timeout=10)


def test_onboard_three_teams_converge_and_upgrade(
    controller: Controller, broken_master_image: str, second_master_image: str
) -> None:
    urls = onboard_all(controller)
    assert len(set(urls.values())) == 3, "each team has its own master on its own port"
    fleet = controller.fleet()
    for name, url in urls.items():
        team = fleet.team(name)
        assert team is not None
        server = client(controller, name, url)
        assert sorted(j["name"] for j in server.get_jobs()) == sorted(j.name for j in team.jobs)
        config = server.get_job_config(team.jobs[0].name)
        assert f"<assignedNode>{team.jobs[0].label}</assignedNode>" in config or "node('" in config
    karaoke = client(controller, "karaoke", urls["karaoke"]).get_info()
    assert karaoke["description"].startswith("Karaoke CI - managed by ciorch")

    # Onboarding again changes nothing: no new master, no job touched.
    with controller.engine() as engine:
        before = {s.id: [t.id for t in s.tasks] for s in engine.runtime.list_services()}
        for name in TEAMS:
            team = fleet.team(name)
            assert team is not None
            again = onboard_team(engine, team, dry_run=True)
            assert again.plan.master is MasterAction.KEEP
            assert not again.plan.changes, again.plan.describe()
            assert onboard_team(engine, team, timeout=60).plan.jobs.changes == 0
        after = {s.id: [t.id for t in s.tasks] for s in engine.runtime.list_services()}
    assert after == before

    # An upgrade across the three succeeds; JENKINS_HOME (the jobs) survives.
    new_image = second_master_image
    with controller.engine() as engine:
        report = upgrade_masters(
            engine, fleet, new_image, canary="karaoke", wave_size=2, timeout=60
        )
        assert report.completed, report.lines
        assert [[s.team for s in w] for w in report.plan.waves] == [
            ["karaoke"],
            ["edge", "payments"],
        ]
        assert {m.team: m.image for m in engine.store.list_masters()} == dict.fromkeys(
            TEAMS, new_image
        )
        for name in TEAMS:
            record = engine.store.get_master(TeamId(name))
            team = fleet.team(name)
            assert team is not None
            server = client(controller, name, record.url or "")
            assert len(server.get_jobs()) == len(team.jobs)

    # An image whose master never becomes healthy: the canary is rolled back, the rest
    # is untouched, and the report says so.
    with controller.engine() as engine:
        report = upgrade_masters(
            engine, fleet, broken_master_image, canary="payments", wave_size=2, timeout=8
        )
        assert not report.completed
        assert any("payments: failed" in line for line in report.lines)
        assert "stopped: not upgraded: edge, karaoke" in report.lines
        masters = {m.team: m for m in engine.store.list_masters()}
        assert masters[TeamId("payments")].state is MasterState.ROLLED_BACK
        assert masters[TeamId("payments")].image == new_image
        assert {masters[TeamId(t)].image for t in ("edge", "karaoke")} == {new_image}
        services = {s.team: s for s in engine.runtime.list_services()}
        assert {s.image for s in services.values()} == {new_image}
        assert all(s.healthy == 1 for s in services.values())
        server = client(controller, "payments", masters[TeamId("payments")].url or "")
        assert len(server.get_jobs()) == 2

        for name in TEAMS:
            offboard_team(engine, name, purge=True)
        assert engine.runtime.list_services() == []
        assert engine.store.list_teams() == []
