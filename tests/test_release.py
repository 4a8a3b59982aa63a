"""Template releases: one version in every file, its CHANGELOG entry, the tags, the workflow."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from ml_template_dev import ROOT
from ml_template_dev.release import ReleaseError, changelog_entry, check, main, tags

BIN = ROOT / ".venv" / "bin"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
VERSION_FILES = ["questions.yml", "copier.yml", "cookiecutter.json", "pyproject.toml"]


def test_every_file_states_the_newest_release_and_the_newest_tag() -> None:
    version = check()
    assert changelog_entry(version).strip()
    released = tags()
    if released:  # a clone without tags still checks the files against each other
        assert Version(version) == released[-1], "tag the release (docs/maintaining.md)"


def test_a_file_that_disagrees_is_one_line_naming_it(tmp_path: Path) -> None:
    for name in [*VERSION_FILES, "CHANGELOG.md"]:
        shutil.copy2(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    version = check()
    pyproject.write_text(
        pyproject.read_text().replace(f'version = "{version}"', 'version = "9.9.9"', 1)
    )
    with pytest.raises(ReleaseError, match=r"pyproject\.toml 9\.9\.9") as error:
        check(root=tmp_path)
    assert "\n" not in str(error.value)


def test_notes_of_a_release_without_an_entry_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["notes", "99.0.0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["notes", check()]) == 0
    assert capsys.readouterr().out == changelog_entry(check())


def test_release_workflow_is_valid_secure_and_publishes_the_changelog_entry() -> None:
    subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", WORKFLOW],
        check=True,
    )
    subprocess.run([BIN / "zizmor", "--offline", WORKFLOW], check=True)
    spec = yaml.safe_load(WORKFLOW.read_text())
    assert spec[True]["push"]["tags"], "runs on a tag"  # YAML 1.1 reads `on` as True
    assert spec["permissions"] == {"contents": "read"}
    runs = [step.get("run", "") for job in spec["jobs"].values() for step in job["steps"]]
    assert any("ml_template_dev.release notes" in run for run in runs)
    assert any(".ci/run" in run for run in runs), "the release runs the tests CI runs"
    assert any("gh release create" in run and "--notes-file" in run for run in runs)
