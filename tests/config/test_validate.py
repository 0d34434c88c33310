"""Bad configurations, each with the exact message and location a user sees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ciorch.cli import main
from ciorch.config import load_fleet, validate_paths
from ciorch.errors import ConfigError

HERE = Path(__file__).parent
BASE_TEAM = (HERE / "base_team.yaml").read_text()
EXAMPLES = HERE.parent.parent / "examples"


def edit(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in text, f"test bug: {old!r} not in the base file"
        text = text.replace(old, new, 1)
    return text


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with teams/karaoke.yaml (valid) that tests then break."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "karaoke.yaml").write_text(BASE_TEAM)
    return tmp_path


def test_base_team_is_valid(tree: Path) -> None:
    assert validate_paths([Path("teams")]) == []


TEAM_CASES = [
    pytest.param(
        [("    cpus: 1\n    mem: 1024", "    cpus: -1\n    mem: 1024")],
        ["teams/karaoke.yaml:10 agents.build-php.cpus: -1 is less than the minimum of 0.1"],
        id="negative-cpus",
    ),
    pytest.param(
        [("name: karaoke", "name: Karaoke_Team")],
        [
            "teams/karaoke.yaml:1 name: 'Karaoke_Team' is not a DNS-safe name (lower-case "
            "letters, digits and '-', starting with a letter, not ending with '-', at most "
            "40 characters)"
        ],
        id="team-name-not-dns-safe",
    ),
    pytest.param(
        [("name: karaoke", "name: opera")],
        ["teams/karaoke.yaml:1 name: 'opera' must match the file name (karaoke.yaml)"],
        id="name-differs-from-file",
    ),
    pytest.param(
        [("    class: ephemeral", "    class: epheral")],
        [
            "teams/karaoke.yaml:8 agents.build-php.class: 'epheral' is not one of ['ephemeral', 'pool']"
        ],
        id="unknown-agent-class",
    ),
    pytest.param(
        [("    mem: 1024", "    memory: 1024")],
        ["teams/karaoke.yaml:11 agents.build-php.memory: unknown field; did you mean 'mem'?"],
        id="misspelt-field",
    ),
    pytest.param(
        [("    image: ciorch/agent-php:latest\n    cpus", "    cpus")],
        ["teams/karaoke.yaml:7 agents.build-php.image: required field is missing"],
        id="missing-image",
    ),
    pytest.param(
        [("    label: build-php", "    label: build-rust")],
        [
            "teams/karaoke.yaml:32 jobs[0].label: 'build-rust' is not an agent template of "
            "team karaoke (templates: build-php, test-php)"
        ],
        id="job-label-without-template",
    ),
    pytest.param(
        [("      min: 1\n      max: 6", "      min: 7\n      max: 6")],
        ["teams/karaoke.yaml:18 agents.test-php.pool.min: 7 is greater than pool.max (6)"],
        id="pool-min-above-max",
    ),
    pytest.param(
        [("    pool:\n      min: 1\n      max: 6\n", "")],
        ["teams/karaoke.yaml:13 agents.test-php.pool: required when class is pool"],
        id="pool-without-pool-settings",
    ),
    pytest.param(
        [("      - job: package", "      - job: deploy")],
        [
            "teams/karaoke.yaml:27 repositories[0].jobs[0].job: 'deploy' is not a job of team karaoke"
        ],
        id="route-to-unknown-job",
    ),
    pytest.param(
        [("  - name: tests\n", "  - name: package\n")],
        ["teams/karaoke.yaml:33 jobs[1].name: duplicate job name 'package' (also jobs[0])"],
        id="duplicate-job",
    ),
    pytest.param(
        [("    cpus: 1\n    mem: 1024", "    cpus: 1\n    cpus: 2\n    mem: 1024")],
        ["teams/karaoke.yaml:11 agents.build-php.cpus: duplicate key (first at line 10)"],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        [("agents:\n", "agents:\n  bad label:\n    class: ephemeral\n    image: x\n")],
        [
            "teams/karaoke.yaml:7 agents.bad label: 'bad label' is not a usable Jenkins label "
            "(letters, digits, '.', '_' and '-', no spaces or operators)"
        ],
        id="label-with-space",
    ),
    pytest.param(
        [("  max_agents: 12", "  max_agents: 0")],
        [
            "teams/karaoke.yaml:21 quotas.max_agents: 0 is less than the pools' minimums together (1)"
        ],
        id="quota-below-pool-minimum",
    ),
    pytest.param(
        [("  mem: 2048", "  mem: lots")],
        ["teams/karaoke.yaml:5 master.mem: 'lots' is not of type 'integer'"],
        id="wrong-type",
    ),
    pytest.param(
        [("description: test team", "description: [unclosed")],
        ["teams/karaoke.yaml:3: YAML syntax error: expected ',' or ']', but got ':'"],
        id="yaml-syntax",
    ),
    pytest.param(
        [("    type: git", "    type: hg")],
        ["teams/karaoke.yaml:24 repositories[0].type: 'hg' is not one of ['git', 'svn']"],
        id="unknown-scm",
    ),
    pytest.param(
        [("    class: ephemeral", "    class: ephemeral\n    pool: {min: 1}")],
        [
            "teams/karaoke.yaml:9 agents.build-php.pool: only pool agents have pool settings "
            "(class is ephemeral)"
        ],
        id="ephemeral-with-pool",
    ),
    pytest.param(
        [("    mem: 1024\n", "    mem: 1024\n    env: {DEBUG: 1}\n")],
        ["teams/karaoke.yaml:12 agents.build-php.env.DEBUG: 1 is not of type 'string'"],
        id="env-value-not-string",
    ),
    pytest.param(
        [("  - name: web\n", "  - name: web\n    branch: main\n")],
        [
            "teams/karaoke.yaml:24 repositories[0].branch: unknown field (expected one of: "
            "jobs, name, type, url)"
        ],
        id="unknown-repository-field",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), TEAM_CASES)
def test_bad_team(tree: Path, changes: list[tuple[str, str]], expected: list[str]) -> None:
    (tree / "teams" / "karaoke.yaml").write_text(edit(BASE_TEAM, *changes))
    problems = [str(p) for p in validate_paths([Path("teams")])]
    assert problems == expected
    with pytest.raises(ConfigError) as caught:
        load_fleet([Path("teams")])
    assert [str(p) for p in caught.value.problems] == expected

    # Onboarding the bad file stops at validation: the same messages, a non-zero exit,
    # no runtime contacted and nothing written to the state store.
    (tree / "ciorch.yaml").write_text(CONTROLLER.replace("  kind: docker", UNREACHABLE))
    (tree / "templates").mkdir()
    (tree / "templates" / "php-test.yaml").write_text("[]\n")
    result = CliRunner().invoke(
        main, ["-c", "ciorch.yaml", "team", "onboard", "teams/karaoke.yaml"]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [f"  {line}" for line in expected]
    assert not (tree / "state").exists()


# A Docker engine address where nothing listens: reaching it would fail differently.
UNREACHABLE = "  kind: docker\n  docker: {base_url: 'tcp://127.0.0.1:1'}"


def test_every_problem_is_reported_not_only_the_first(tree: Path) -> None:
    text = edit(BASE_TEAM, ("  cpus: 1\n", "  cpus: 0\n"), ("  mem: 2048", "  mem: 1"))
    (tree / "teams" / "karaoke.yaml").write_text(text)
    assert [str(p) for p in validate_paths([Path("teams")])] == [
        "teams/karaoke.yaml:4 master.cpus: 0 is less than the minimum of 0.1",
        "teams/karaoke.yaml:5 master.mem: 1 is less than the minimum of 256",
    ]


def test_two_teams_cannot_claim_one_repository(tree: Path) -> None:
    other = edit(
        BASE_TEAM,
        ("name: karaoke", "name: opera"),
        ("url: /srv/git/karaoke.git", "url: file:///srv/git/karaoke.git/"),
    )
    (tree / "teams" / "opera.yaml").write_text(other)
    assert [str(p) for p in validate_paths([Path("teams")])] == [
        "teams/opera.yaml:25 repositories[0].url: repository 'file:///srv/git/karaoke.git/' "
        "is already claimed by team karaoke (teams/karaoke.yaml:25)"
    ]


def test_empty_and_non_mapping_files(tree: Path) -> None:
    (tree / "teams" / "karaoke.yaml").write_text("")
    (tree / "teams" / "opera.yaml").write_text("- just\n- a list\n")
    assert [str(p) for p in validate_paths([Path("teams")])] == [
        "teams/karaoke.yaml:1: file is empty",
        "teams/opera.yaml:1: must be a mapping (a team definition)",
    ]


def test_missing_file(tree: Path) -> None:
    assert [str(p) for p in validate_paths([Path("teams/nobody.yaml")])] == [
        "teams/nobody.yaml: file not found"
    ]


CONTROLLER = """\
runtime:
  kind: docker
state:
  path: state/ciorch.db
listen: 127.0.0.1:8700
teams_dir: teams
templates_dir: templates
"""

CONTROLLER_CASES = [
    pytest.param(
        [("  kind: docker", "  kind: marathon")],
        ["ciorch.yaml:1 runtime.marathon: required when runtime.kind is marathon"],
        id="marathon-without-url",
    ),
    pytest.param(
        [("listen: 127.0.0.1:8700", "listen: localhost")],
        ["ciorch.yaml:5 listen: 'localhost' is not host:port"],
        id="listen-not-host-port",
    ),
    pytest.param(
        [("teams_dir: teams", "teams_dir: teams\nwebhook_secret: {env: A, file: b}")],
        [
            "ciorch.yaml:7 webhook_secret: must name exactly one of 'env' (an environment "
            "variable) or 'file'"
        ],
        id="secret-with-two-sources",
    ),
    pytest.param(
        [("teams_dir: teams", "teams_dir: squads")],
        ["ciorch.yaml:6 teams_dir: folder squads does not exist"],
        id="teams-dir-missing",
    ),
    pytest.param(
        [("  kind: docker", "  kind: docker\n  marathon: {url: 'ftp://x'}")],
        ["ciorch.yaml:3 runtime.marathon.url: 'ftp://x' is not an http(s) URL"],
        id="marathon-url-scheme",
    ),
]


@pytest.fixture
def controller_tree(tree: Path) -> Path:
    (tree / "ciorch.yaml").write_text(CONTROLLER)
    (tree / "templates").mkdir()
    (tree / "templates" / "php-test.yaml").write_text("[]\n")
    return tree


def test_controller_with_teams_is_valid(controller_tree: Path) -> None:
    assert validate_paths([Path(".")]) == []
    fleet = load_fleet([Path("ciorch.yaml")])
    assert fleet.controller is not None
    assert fleet.controller.state_path == controller_tree.resolve() / "state" / "ciorch.db"
    assert [t.name for t in fleet.teams] == ["karaoke"]


@pytest.mark.parametrize(("changes", "expected"), CONTROLLER_CASES)
def test_bad_controller(
    controller_tree: Path, changes: list[tuple[str, str]], expected: list[str]
) -> None:
    (controller_tree / "ciorch.yaml").write_text(edit(CONTROLLER, *changes))
    assert [str(p) for p in validate_paths([Path("ciorch.yaml")])] == expected


def test_job_template_must_exist(controller_tree: Path) -> None:
    (controller_tree / "teams" / "karaoke.yaml").write_text(
        edit(
            BASE_TEAM,
            (
                "    template: php-test\n    label: test-php",
                "    template: rust\n    label: test-php",
            ),
        )
    )
    assert [str(p) for p in validate_paths([Path(".")])] == [
        "teams/karaoke.yaml:34 jobs[1].template: unknown job template 'rust' (known: php-test)"
    ]


def test_examples_are_valid(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    shutil.copytree(EXAMPLES.parent / "job_templates", tmp_path / "job_templates")
    assert validate_paths([tmp_path / "examples"]) == []
    fleet = load_fleet([tmp_path / "examples"])
    assert {t.name for t in fleet.teams} == {"karaoke", "payments", "edge"}


def test_environment_overrides_controller_settings(controller_tree: Path) -> None:
    fleet = load_fleet(
        [Path("ciorch.yaml")],
        env={"CIORCH_LISTEN": "127.0.0.1:9999", "CIORCH_STATE_PATH": "/tmp/x.db"},
    )
    assert fleet.controller is not None
    assert fleet.controller.listen == "127.0.0.1:9999"
    assert fleet.controller.state_path == Path("/tmp/x.db")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            BASE_TEAM.replace("  cpus: 1\n  mem: 2048", "  cpus: .nan\n  mem: 2048"),
            ["teams/karaoke.yaml:4 master.cpus: nan is not a number"],
            id="nan",
        ),
        pytest.param(
            BASE_TEAM.replace("      min: 1\n", "      min: 1.0\n"),
            ["teams/karaoke.yaml:18 agents.test-php.pool.min: 1.0 is not of type 'integer'"],
            id="float-for-integer",
        ),
        pytest.param(
            BASE_TEAM.replace("description: test team", "description: &a [*a]"),
            ["teams/karaoke.yaml:2 description[0]: recursive YAML alias"],
            id="recursive-alias",
        ),
        pytest.param(
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdef", "bcdefg", strict=True)
            ),
            ["teams/karaoke.yaml: YAML aliases expand to more than 100000 values"],
            id="billion-laughs",
        ),
    ],
)
def test_hostile_yaml_is_a_clear_problem(tree: Path, text: str, expected: list[str]) -> None:
    (tree / "teams" / "karaoke.yaml").write_text(text)
    assert [str(p) for p in validate_paths([Path("teams")])] == expected
