"""Every combination of answers renders cleanly, and identically with copier and cookiecutter."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from ml_template_dev import ROOT
from ml_template_dev.questions import all_combinations, combination_id
from ml_template_dev.render import ANSWERS_FILE, render_cookiecutter, render_copier, tree

COMBINATIONS = all_combinations()
LEFTOVER = re.compile(rb"(?<!\$)\{\{|\{%|\{#|cookiecutter\.")  # GitHub's ${{ }} is output


def test_combinations_cover_every_choice() -> None:
    assert len(COMBINATIONS) == 2 * 4 * 3 * 3 * 2


@pytest.mark.parametrize("answers", COMBINATIONS, ids=combination_id)
def test_render_with_both_engines(tmp_path: Path, answers: dict[str, str]) -> None:
    copied = render_copier(tmp_path / "copier", answers)
    baked = render_cookiecutter(tmp_path / "cookiecutter", answers)
    copier_files, cookiecutter_files = tree(copied), tree(baked)

    assert ANSWERS_FILE in copier_files
    assert ANSWERS_FILE not in cookiecutter_files
    del copier_files[ANSWERS_FILE]
    assert sorted(copier_files) == sorted(cookiecutter_files)
    different = [name for name in copier_files if copier_files[name] != cookiecutter_files[name]]
    assert not different, f"copier and cookiecutter disagree on {different}"

    for name, content in copier_files.items():
        assert not LEFTOVER.search(content), f"{name}: unrendered template syntax"
        if name.endswith((".yml", ".yaml")):
            yaml.safe_load(content)
        if name.endswith(".toml") or name == "uv.lock":
            tomllib.loads(content.decode())
    assert "uv.lock" in copier_files
    docker = answers["docker"] == "yes"
    assert ("Dockerfile" in copier_files) == (".dockerignore" in copier_files) == docker
    lock = tomllib.loads(copier_files["uv.lock"].decode())
    assert lock["requires-python"] == f">={answers['python_min']}"
    project = tomllib.loads(copier_files["pyproject.toml"].decode())["project"]
    assert project["requires-python"] == f">={answers['python_min']}"

    ruff = [str(ROOT / ".venv" / "bin" / "ruff")]
    subprocess.run([*ruff, "check", "--no-cache", "."], cwd=copied, check=True)
    subprocess.run([*ruff, "format", "--check", "--no-cache", "."], cwd=copied, check=True)


def test_answers_file_records_the_template_and_answers(default_project: Path) -> None:
    answers = yaml.safe_load((default_project / ANSWERS_FILE).read_text())
    assert answers["_src_path"]
    assert answers["_commit"]
    assert answers["project_slug"] == "my-ml-project"
    assert "cookiecutter" not in answers, "the computed question is not an answer"


def test_derived_names(tmp_path: Path) -> None:
    project = render_copier(tmp_path / "p", {"project_name": "Fraud Score_2"})
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "fraud-score-2"
    assert (project / "src" / "fraud_score_2" / "cli.py").is_file()
    assert pyproject["project"]["scripts"] == {"fraud-score-2": "fraud_score_2.cli:main"}
