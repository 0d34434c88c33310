"""Configuration-as-Code over HTTP and JENKINS_HOME persistence across restarts."""

from __future__ import annotations

from pathlib import Path

import jenkins
import pytest
import requests

from ciorch.testing.jenkins import JenkinsEmulator

JOB = (
    "<project><canRoam>true</canRoam><builders><hudson.tasks.Shell>"
    "<command>echo hi</command></hudson.tasks.Shell></builders></project>"
)
CASC = """
jenkins:
  systemMessage: 'Team karaoke ^${not a variable}'
  numExecutors: 2
  quietPeriod: 3
  securityRealm:
    local:
      users:
        - id: admin
          password: ${EMULATOR_TEST_PASSWORD}
"""


def _post(emu: JenkinsEmulator, path: str, body: str, auth: tuple[str, str]) -> requests.Response:
    return requests.post(emu.url + path, data=body.encode(), auth=auth, timeout=10)


def test_casc_apply_configures_the_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_TEST_PASSWORD", "from-env")
    with JenkinsEmulator(("admin", "tok")).start() as emu:
        answer = _post(emu, "configuration-as-code/apply", CASC, ("admin", "tok"))
        assert answer.status_code == 200
        server = jenkins.Jenkins(emu.url, "admin", "tok")
        info = server.get_info()
        assert info["description"] == "Team karaoke ${not a variable}"
        assert info["numExecutors"] == 2
        # the password CasC set, read from the environment, now logs in (with crumbs)
        assert jenkins.Jenkins(emu.url, "admin", "from-env").get_whoami()["id"] == "admin"
        exported = _post(emu, "configuration-as-code/export", "", ("admin", "tok"))
        assert exported.text == CASC


@pytest.mark.parametrize(("body", "status"), [("jenkins: [unclosed", 500), ("- a list", 500)])
def test_casc_apply_refuses_bad_documents(body: str, status: int) -> None:
    with JenkinsEmulator(("admin", "tok")).start() as emu:
        assert (
            _post(emu, "configuration-as-code/apply", body, ("admin", "tok")).status_code == status
        )
        assert (
            requests.get(
                emu.url + "configuration-as-code/apply", auth=("admin", "tok"), timeout=10
            ).status_code
            == 405
        )
        assert _post(emu, "configuration-as-code/apply", "x: 1", ("nobody", "x")).status_code == 401


def test_jobs_and_casc_survive_a_restart_with_home(tmp_path: Path) -> None:
    with JenkinsEmulator(("admin", "tok"), home=tmp_path).start() as emu:
        server = jenkins.Jenkins(emu.url, "admin", "tok")
        server.create_job("build", JOB)
        server.create_job("gone", JOB)
        server.delete_job("gone")
        server.reconfig_job("build", JOB.replace("echo hi", "echo changed"))
        _post(
            emu, "configuration-as-code/apply", "jenkins: {systemMessage: kept}", ("admin", "tok")
        )
    assert (tmp_path / "jobs" / "build" / "config.xml").is_file()
    assert not (tmp_path / "jobs" / "gone").exists()
    with JenkinsEmulator(("admin", "tok"), home=tmp_path).start() as again:
        server = jenkins.Jenkins(again.url, "admin", "tok")
        assert [j["name"] for j in server.get_jobs()] == ["build"]
        assert "echo changed" in server.get_job_config("build")
        assert server.get_info()["description"] == "kept"
