"""The generated CI: valid, secure workflows whose steps are exactly `make ci`'s targets."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_template_dev import ROOT
from ml_template_dev.questions import choices
from ml_template_dev.render import render_copier

BIN = ROOT / ".venv" / "bin"
GITHUB = ".github/workflows/ci.yml"
MONITOR = ".github/workflows/monitor.yml"
GITLAB = ".gitlab-ci.yml"
DEPENDABOT = ".github/dependabot.yml"
RELEASE = ".github/workflows/release.yml"
# CI jobs that need the internet (vulnerability databases), so `make ci` cannot include them.
ONLINE_ONLY = {"audit"}
# A CI job outside `make ci` (it needs Java), and the targets it runs.
SPARK_STEPS = ["setup-java", "setup-spark", "test-spark"]


def make_targets(project: Path) -> set[str]:
    """Targets defined in the project's Makefile."""
    text = (project / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))


def ci_prerequisites(project: Path) -> list[str]:
    """The targets `make ci` runs, in order."""
    line = re.search(r"^ci: ([^#\n]+)", (project / "Makefile").read_text(), flags=re.MULTILINE)
    assert line is not None
    return line.group(1).split()


def make_steps(commands: list[str], targets: set[str]) -> list[str]:
    """The make targets named by CI commands; every command must be `make <target>`."""
    steps = []
    for command in commands:
        match = re.fullmatch(r"make ([a-z-]+)", command.strip())
        assert match, f"CI runs {command!r}; CI may only call make targets"
        assert match.group(1) in targets, f"CI calls `make {match.group(1)}`, which does not exist"
        steps.append(match.group(1))
    return steps


@pytest.mark.parametrize("ci", choices("ci"))
def test_ci_files_follow_the_answer(tmp_path: Path, ci: str) -> None:
    project = render_copier(tmp_path / "p", {"ci": ci})
    assert (project / GITHUB).is_file() == (ci == "github")
    assert (project / MONITOR).is_file() == (ci == "github")
    assert (project / GITLAB).is_file() == (ci == "gitlab")
    assert (project / DEPENDABOT).is_file() == (ci == "github")
    assert (project / RELEASE).is_file() == (ci == "github"), "docker is yes by default"
    assert (project / ".pre-commit-config.yaml").is_file()


@pytest.mark.parametrize("docker", ["yes", "no"])
def test_dependabot_groups_every_ecosystem_the_project_has(tmp_path: Path, docker: str) -> None:
    project = render_copier(tmp_path / "p", {"docker": docker})
    config = project / DEPENDABOT
    subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.dependabot", config], check=True
    )
    spec = yaml.safe_load(config.read_text())
    ecosystems = {update["package-ecosystem"] for update in spec["updates"]}
    assert ecosystems == {"uv", "github-actions", *(["docker"] if docker == "yes" else [])}
    assert all(update["groups"] for update in spec["updates"]), "grouped: one PR per ecosystem"


def checked_github_workflow(workflow: Path) -> dict[Any, Any]:
    """Check a workflow (schema, zizmor, read-only, actions pinned, skipped under act); parse it."""
    subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", workflow],
        check=True,
    )
    subprocess.run([BIN / "zizmor", "--offline", workflow], check=True)
    spec: dict[Any, Any] = yaml.safe_load(workflow.read_text())
    assert spec["permissions"] == {"contents": "read"}
    for job in spec["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.search(r"@[0-9a-f]{40}$", step["uses"]), f"{step['uses']} not pinned"
                assert step.get("if") == "${{ !env.ACT }}" or "checkout" in step["uses"]
    return spec


def test_github_workflow_is_valid_secure_and_only_calls_make(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "p", {"python_min": "3.12"})
    spec = checked_github_workflow(project / GITHUB)
    assert spec["concurrency"]["cancel-in-progress"] is True
    targets = make_targets(project)
    order = []
    for name, job in spec["jobs"].items():
        commands = [step["run"] for step in job["steps"] if "run" in step]
        steps = make_steps(commands, targets)
        if name in ONLINE_ONLY:
            assert steps == [name], "an online-only job runs its one target"
            continue
        if name == "spark":
            assert steps == SPARK_STEPS
            continue
        assert steps[0] == "setup"
        order += steps[1:]
    assert order == ci_prerequisites(project), "the workflow and `make ci` must run the same steps"
    assert spec["jobs"].keys() >= ONLINE_ONLY
    assert "metrics-gate" in spec["jobs"]
    assert spec["jobs"]["test"]["strategy"]["matrix"]["python"] == ["3.12", "3.13"]


def test_monitor_workflow_is_scheduled_valid_secure_and_only_calls_make(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "p")
    spec = checked_github_workflow(project / MONITOR)
    triggers = spec[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"]
    [job] = spec["jobs"].values()
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert make_steps(commands, make_targets(project)) == ["setup", "monitor"]
    assert job["env"]["MONITOR_WEBHOOK_URL"] == "${{ secrets.MONITOR_WEBHOOK_URL }}"


def test_gitlab_pipeline_is_valid_and_only_calls_make(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "p", {"ci": "gitlab"})
    pipeline = project / GITLAB
    subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", pipeline], check=True
    )
    spec = yaml.safe_load(pipeline.read_text())
    targets = make_targets(project)
    assert make_steps(spec["default"]["before_script"][1:], targets) == ["setup"]
    order = []
    for name in ("lint", "typecheck", "test", "metrics-gate"):
        order += make_steps(spec[name]["script"], targets)
    assert order == ci_prerequisites(project)
    for name in ONLINE_ONLY:
        assert make_steps(spec[name]["script"], targets) == [name]
    assert "metrics/gate.md" in spec["metrics-gate"]["artifacts"]["paths"]
    assert make_steps(spec["spark"]["script"], targets) == SPARK_STEPS

    release = spec["image-release"]
    assert spec["stages"][-1] == release["stage"] == "release", "after every check and the gate"
    assert [rule["if"].split()[0] for rule in release["rules"]] == ["$CI_COMMIT_TAG"], "tags only"
    assert make_steps(release["script"], targets) == ["image-release"]
    assert (release["variables"]["IMAGE"], release["variables"]["VERSION"]) == (
        "$CI_REGISTRY_IMAGE",
        "$CI_COMMIT_TAG",
    )
    assert any("dind" in service for service in release["services"])
    without = yaml.safe_load(
        (render_copier(tmp_path / "nd", {"ci": "gitlab", "docker": "no"}) / GITLAB).read_text()
    )
    assert "image-release" not in without and "release" not in without["stages"]


def test_pre_commit_hooks_are_local_and_run_locked_tools(default_project: Path) -> None:
    config = yaml.safe_load((default_project / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    for required in (
        "ruff-check",
        "ruff-format",
        "mypy",
        "check-yaml",
        "check-toml",
        "end-of-file-fixer",
        "check-merge-conflict",
        "nbstripout",
        "uv-lock",
    ):
        assert required in hooks, required
        assert hooks[required]["language"] == "system"
        assert hooks[required]["entry"].startswith("uv "), "tools come from the locked environment"
    assert "--assume-in-merge" in hooks["check-merge-conflict"]["entry"]


def test_release_workflow_pushes_a_versioned_image_with_provenance(tmp_path: Path) -> None:
    assert not (render_copier(tmp_path / "no-docker", {"docker": "no"}) / RELEASE).exists()
    project = render_copier(tmp_path / "p", {"docker": "yes"})
    workflow = project / RELEASE
    subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", workflow],
        check=True,
    )
    subprocess.run([BIN / "zizmor", "--offline", workflow], check=True)
    spec = yaml.safe_load(workflow.read_text())
    assert spec[True]["push"]["tags"], "runs on a version tag"
    [job] = spec["jobs"].values()
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    for step in job["steps"]:
        if "uses" in step:
            assert re.search(r"@[0-9a-f]{40}$", step["uses"]), f"{step['uses']} not pinned"
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert make_steps(commands, make_targets(project)) == ["image-release"]
    recipe = (project / "Makefile").read_text().split("\nimage-release:", 1)[1]
    assert "--provenance=mode=max" in recipe and "--push" in recipe
    refused = subprocess.run(
        ["make", "image-release"], cwd=project, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == (
        "error: image-release needs IMAGE=<registry>/<name> and VERSION=<release tag>"
    )
