"""Jenkins emulator: authentication, crumbs and the version header (API.md A, item 3)."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import jenkins
import pytest
import requests
from _jenkins_kit import ADMIN, client, emu, freestyle, raw  # noqa: F401

from ciorch.testing.jenkins import JenkinsEmulator


def test_crumb_issuer_answers_the_default_issuer_shape(emu: JenkinsEmulator) -> None:
    answer = raw(emu, "GET", "crumbIssuer/api/json")
    assert answer.status_code == 200
    body = answer.json()
    assert body["_class"] == "hudson.security.csrf.DefaultCrumbIssuer"
    assert body["crumbRequestField"] == "Jenkins-Crumb"
    assert len(body["crumb"]) == 64
    assert "JSESSIONID" in answer.headers["Set-Cookie"]


def test_crumb_issuer_xml_xpath_form_used_by_the_swarm_client(emu: JenkinsEmulator) -> None:
    xpath = 'concat(//crumbRequestField,":",//crumb)'
    answer = raw(emu, "GET", "crumbIssuer/api/xml", params={"xpath": xpath})
    assert answer.status_code == 200
    field, _, crumb = answer.text.partition(":")
    assert field == "Jenkins-Crumb"
    assert len(crumb) == 64


def test_whoami_and_info_need_authentication(emu: JenkinsEmulator, client: Any) -> None:
    me = client.get_whoami()
    assert me["id"] == ADMIN[0]
    assert {"id", "fullName", "absoluteUrl"} <= set(me)
    for path in ("api/json", "me/api/json?depth=0"):
        answer = requests.get(emu.url + path, timeout=5)
        assert answer.status_code == 403, path
    anonymous = jenkins.Jenkins(emu.url, timeout=5)
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        anonymous.get_whoami()


def test_wrong_token_is_401(emu: JenkinsEmulator) -> None:
    bad = jenkins.Jenkins(emu.url, ADMIN[0], "wrong", timeout=5)
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]"):
        bad.get_info()


def test_version_header_on_every_answer(emu: JenkinsEmulator, client: Any) -> None:
    client.get_whoami()  # get_version bypasses auth: authenticate first (API.md A)
    assert client.get_version() == "2.479.3"
    for method, path in (("GET", "login"), ("GET", "nope"), ("POST", "createItem")):
        answer = requests.request(method, emu.url + path, timeout=5)
        assert answer.headers["X-Jenkins"] == "2.479.3", path


def test_get_version_as_first_call_fails_on_denied_anonymous_read(emu: JenkinsEmulator) -> None:
    fresh = jenkins.Jenkins(emu.url, *ADMIN, timeout=5)
    with pytest.raises(jenkins.BadHTTPException):
        fresh.get_version()


def test_login_page_answers_200_anonymously(emu: JenkinsEmulator) -> None:
    assert requests.get(emu.url + "login", timeout=5).status_code == 200


def test_post_without_crumb_is_403_unless_token_auth(emu: JenkinsEmulator) -> None:
    xml = freestyle()
    headers = {"Content-Type": "text/xml"}
    # Anonymous POST without a crumb: the crumb filter answers first.
    anonymous = requests.post(emu.url + "createItem?name=a", data=xml, headers=headers, timeout=5)
    assert anonymous.status_code == 403
    assert "No valid crumb was included in the request" in anonymous.text
    # Password (not API token) basic auth: a session, so a crumb is needed.
    session = requests.Session()
    session.auth = (ADMIN[0], emu.password)
    no_crumb = session.post(emu.url + "createItem?name=a", data=xml, headers=headers, timeout=5)
    assert no_crumb.status_code == 403
    assert "No valid crumb was included in the request" in no_crumb.text
    crumb = session.get(emu.url + "crumbIssuer/api/json", timeout=5).json()["crumb"]
    ok = session.post(
        emu.url + "createItem?name=a",
        data=xml,
        headers={**headers, "Jenkins-Crumb": crumb},
        timeout=5,
    )
    assert ok.status_code == 200
    # API token basic auth needs no crumb at all.
    token = requests.post(
        emu.url + "createItem?name=b", data=xml, headers=headers, auth=ADMIN, timeout=5
    )
    assert token.status_code == 200


def test_crumb_is_bound_to_the_session(emu: JenkinsEmulator) -> None:
    first = requests.Session()
    first.auth = (ADMIN[0], emu.password)
    crumb = first.get(emu.url + "crumbIssuer/api/json", timeout=5).json()["crumb"]
    second = requests.Session()
    second.auth = (ADMIN[0], emu.password)
    second.get(emu.url + "api/json", timeout=5)  # a session of its own
    answer = second.post(
        emu.url + "createItem?name=x",
        data=freestyle(),
        headers={"Content-Type": "text/xml", "Jenkins-Crumb": crumb},
        timeout=5,
    )
    assert answer.status_code == 403
    assert "No valid crumb" in answer.text


def test_form_login_session_with_crumb(emu: JenkinsEmulator) -> None:
    session = requests.Session()
    login = session.post(
        emu.url + "j_spring_security_check",
        data={"j_username": ADMIN[0], "j_password": emu.password},
        timeout=5,
    )
    assert login.status_code == 200
    assert session.get(emu.url + "me/api/json", timeout=5).json()["id"] == ADMIN[0]
    crumb = session.get(emu.url + "crumbIssuer/api/json", timeout=5).json()["crumb"]
    answer = session.post(
        emu.url + "createItem?name=f",
        data=freestyle(),
        headers={"Content-Type": "text/xml", "Jenkins-Crumb": crumb},
        timeout=5,
    )
    assert answer.status_code == 200


def test_python_jenkins_fetches_a_crumb_and_posts(client: Any) -> None:
    client.create_job("via-client", freestyle())
    assert client.crumb["crumbRequestField"] == "Jenkins-Crumb"
    assert client.job_exists("via-client")
