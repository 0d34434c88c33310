"""Jenkins emulator: jobs (API.md A rows create/reconfig/config/delete/jobs; items 4, 5)."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import jenkins
import pytest
import requests
from _jenkins_kit import FOLDER, client, emu, freestyle, open_raw, raw  # noqa: F401

from ciorch.testing.jenkins import JenkinsEmulator


def test_create_item_answers_200_empty(emu: JenkinsEmulator) -> None:
    answer = raw(
        emu, "POST", "createItem?name=j", data=freestyle(), headers={"Content-Type": "text/xml"}
    )
    assert answer.status_code == 200
    assert answer.text == ""


def test_create_existing_is_400_with_x_error(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("dup", freestyle())
    answer = raw(
        emu, "POST", "createItem?name=dup", data=freestyle(), headers={"Content-Type": "text/xml"}
    )
    assert answer.status_code == 400
    x_error = answer.headers["X-Error"].encode("latin-1").decode("utf-8")
    assert x_error == "A job already exists with the name ‘dup’"
    # Through python-jenkins' transport a 400 is a raw requests.HTTPError (item 5).
    with pytest.raises(requests.HTTPError) as info:
        open_raw(
            client,
            "POST",
            "createItem?name=dup",
            data=freestyle().encode(),
            headers={"Content-Type": "text/xml"},
        )
    assert info.value.response.status_code == 400
    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        client.create_job("dup", freestyle())


def test_create_without_content_type_is_400(emu: JenkinsEmulator) -> None:
    answer = raw(emu, "POST", "createItem?name=ct", data=b"")
    assert answer.status_code == 400


def test_malformed_xml_is_500(emu: JenkinsEmulator, client: Any) -> None:
    answer = raw(
        emu, "POST", "createItem?name=bad", data="<project>", headers={"Content-Type": "text/xml"}
    )
    assert answer.status_code == 500
    client.create_job("good", freestyle())
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        client.reconfig_job("good", "<project><oops></project>")


def test_config_xml_roundtrip_and_reconfig(emu: JenkinsEmulator, client: Any) -> None:
    xml = freestyle(description="first")
    client.create_job("cfg", xml)
    assert client.get_job_config("cfg") == xml
    answer = raw(emu, "GET", "job/cfg/config.xml")
    assert answer.headers["Content-Type"].startswith("application/xml")
    client.reconfig_job("cfg", freestyle(description="second", label="linux"))
    assert "second" in client.get_job_config("cfg")
    assert client.get_job_info("cfg")["labelExpression"] == "linux"
    with pytest.raises(jenkins.NotFoundException):
        client.get_job_config("missing")
    with pytest.raises(jenkins.NotFoundException):
        client.reconfig_job("missing", freestyle())


def test_delete_redirects_to_parent_which_answers_200(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("gone", freestyle())
    answer = raw(emu, "POST", "job/gone/doDelete")
    assert answer.status_code == 302
    assert answer.headers["Location"] == emu.url
    assert raw(emu, "GET", answer.headers["Location"][len(emu.url) :]).status_code == 200
    assert client.job_exists("gone") is None
    client.create_job("gone2", freestyle())
    client.delete_job("gone2")
    assert not client.job_exists("gone2")
    with pytest.raises(jenkins.NotFoundException):
        client.delete_job("never")


def test_get_jobs_shape_plain_jobs_have_no_jobs_key(client: Any) -> None:
    client.create_job("plain", freestyle())
    client.create_job("folder", FOLDER)
    client.create_job("folder/inner", freestyle())
    jobs = {j["fullname"]: j for j in client.get_jobs(folder_depth=None)}
    assert set(jobs) == {"plain", "folder", "folder/inner"}
    assert "jobs" not in jobs["plain"]
    assert "jobs" not in jobs["folder/inner"]
    assert isinstance(jobs["folder"]["jobs"], list)
    assert jobs["plain"]["color"] == "notbuilt"
    assert jobs["plain"]["_class"] == "hudson.model.FreeStyleProject"
    assert client.job_exists("folder/inner")
    assert client.get_job_name("folder/inner") == "inner"


def test_get_info_shape(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("one", freestyle())
    info = client.get_info()
    assert info["_class"] == "hudson.model.Hudson"
    assert info["mode"] == "NORMAL"
    assert info["nodeName"] == ""
    assert info["numExecutors"] == 0
    assert info["useCrumbs"] is True
    assert info["useSecurity"] is True
    assert info["quietingDown"] is False
    assert info["url"] == emu.url
    assert info["jobs"] == [
        {
            "_class": "hudson.model.FreeStyleProject",
            "name": "one",
            "url": emu.url + "job/one/",
            "color": "notbuilt",
        }
    ]


def test_job_exists_uses_tree_name(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("t", freestyle())
    answer = raw(emu, "GET", "job/t/api/json?tree=name")
    assert answer.json() == {"_class": "hudson.model.FreeStyleProject", "name": "t"}
    assert raw(emu, "GET", "job/none/api/json?tree=name").status_code == 404


def test_job_info_fields(client: Any) -> None:
    client.create_job("p", freestyle(params={"A": "1"}, concurrent=True, label="x && y"))
    info = client.get_job_info("p")
    assert info["concurrentBuild"] is True
    assert info["disabled"] is False
    assert info["labelExpression"] == "x && y"
    assert info["nextBuildNumber"] == 1
    assert info["builds"] == []
    assert info["lastBuild"] is None
    definitions = info["property"][0]["parameterDefinitions"]
    assert definitions[0]["name"] == "A"
    assert definitions[0]["defaultParameterValue"]["value"] == "1"


@pytest.mark.parametrize(
    ("xml_args", "expected"),
    [
        ({"roam": True}, None),
        ({"label": "linux"}, "linux"),
        ({"roam": None}, None),  # canRoam missing = false, no node: tied to the built-in node
    ],
)
def test_label_expression_follows_can_roam(
    client: Any, xml_args: dict[str, Any], expected: str | None
) -> None:
    client.create_job("l", freestyle(**xml_args))
    assert client.get_job_info("l")["labelExpression"] == expected


def test_disabled_job_build_is_409(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("off", freestyle(disabled=True))
    assert client.get_job_info("off")["color"] == "disabled"
    with pytest.raises(requests.HTTPError) as info:
        client.build_job("off")
    assert info.value.response.status_code == 409
    client.enable_job("off")
    assert client.get_job_info("off")["disabled"] is False
    client.disable_job("off")
    assert client.get_job_info("off")["disabled"] is True


def test_build_with_parameters_on_plain_job_is_400(client: Any) -> None:
    client.create_job("plain", freestyle())
    with pytest.raises(requests.HTTPError) as info:
        client.build_job("plain", {"X": "1"})
    assert info.value.response.status_code == 400


def test_unknown_job_build_is_404(client: Any) -> None:
    with pytest.raises(jenkins.NotFoundException):
        client.build_job("nope")


def test_post_only_actions_answer_405_to_get(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("g", freestyle())
    for action in ("build", "doDelete", "disable"):
        assert raw(emu, "GET", f"job/g/{action}").status_code == 405, action
    assert client.job_exists("g")


def test_disable_rewrites_config_xml(client: Any) -> None:
    client.create_job("nodis", "<project><canRoam>true</canRoam></project>")
    client.disable_job("nodis")
    assert "<disabled>true</disabled>" in client.get_job_config("nodis")
    client.enable_job("nodis")
    assert "<disabled>false</disabled>" in client.get_job_config("nodis")
