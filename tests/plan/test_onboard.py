"""Onboarding decisions: table-driven, no I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from ciorch.config import load_fleet
from ciorch.model.runtime import Resources, WorkloadKind
from ciorch.plan.onboard import (
    JobsPlan,
    MasterAction,
    OnboardPlan,
    job_digest,
    master_service_spec,
    plan_jobs,
    plan_master,
)

ROOT = Path(__file__).parent.parent.parent


@pytest.mark.parametrize(
    ("observed_image", "observed_digest", "expected"),
    [
        (None, None, MasterAction.CREATE),
        ("m:1", "d1", MasterAction.KEEP),
        ("m:0", "d1", MasterAction.REPLACE),
        ("m:1", "d0", MasterAction.REPLACE),  # resources, volume, env or health changed
        ("m:1", None, MasterAction.REPLACE),  # made by something that does not label it
    ],
)
def test_plan_master(
    observed_image: str | None, observed_digest: str | None, expected: MasterAction
) -> None:
    assert plan_master("m:1", observed_image, observed_digest, "d1") is expected


A, B, C = "<a/>", "<b/>", "<c/>"


@pytest.mark.parametrize(
    ("rendered", "sent", "existing", "expected"),
    [
        ({"x": A, "y": B}, {}, None, JobsPlan(("x", "y"), (), (), ())),
        ({"x": A}, {"x": job_digest(A)}, {"x"}, JobsPlan((), (), (), ("x",))),
        ({"x": B}, {"x": job_digest(A)}, {"x"}, JobsPlan((), ("x",), (), ())),
        ({"x": A}, {}, {"x"}, JobsPlan((), ("x",), (), ())),  # made by hand: take it over
        ({"x": A}, {"x": job_digest(A)}, set(), JobsPlan(("x",), (), (), ())),  # deleted by hand
        ({}, {"old": job_digest(C)}, {"old", "manual"}, JobsPlan((), (), ("old",), ())),
        ({}, {"old": job_digest(C)}, {"manual"}, JobsPlan((), (), (), (), ("old",))),
        ({}, {"old": job_digest(C)}, None, JobsPlan((), (), (), ())),  # master not observed
    ],
)
def test_plan_jobs(
    rendered: dict[str, str], sent: dict[str, str], existing: set[str] | None, expected: JobsPlan
) -> None:
    assert plan_jobs(rendered, sent, existing) == expected


def test_master_service_spec_from_team() -> None:
    team = load_fleet([ROOT / "examples"]).team("payments")
    assert team is not None
    spec = master_service_spec(team, "ciorch/jenkins-master:1", "s3cret")
    assert spec.container.kind is WorkloadKind.MASTER
    assert spec.container.resources == Resources(cpus=2.0, mem_mib=4096)
    assert spec.volume is not None
    assert spec.volume.name == "payments-jenkins-home"
    assert spec.volume.mount_path == "/var/jenkins_home"
    assert spec.health is not None
    assert spec.health.path == "/login"
    assert spec.port
    assert spec.restart
    assert spec.instances == 1
    assert spec.container.env["ADMIN_PASSWORD"] == "s3cret"


def test_describe_plan() -> None:
    plan = OnboardPlan(
        "karaoke", "m:1", MasterAction.CREATE, True, JobsPlan(("a",), ("b",), ("c",), ("d",))
    )
    assert plan.changes
    assert plan.describe() == [
        "team karaoke:",
        "  create master from m:1",
        "  create admin credential for admin",
        "  apply Configuration-as-Code",
        "  create job a",
        "  update job b",
        "  delete job c (no longer in the team file)",
        "  1 job(s) unchanged",
    ]
    unchanged = OnboardPlan("k", "m:1", MasterAction.KEEP, False, JobsPlan((), (), (), ("d",)))
    assert not unchanged.changes
