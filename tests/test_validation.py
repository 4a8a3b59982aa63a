"""A bad answer gets questions.yml's one-line message from both engines; nothing is written."""

import tomllib
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from ml_template_dev.questions import bad_answers
from ml_template_dev.render import ANSWERS_FILE, render_cookiecutter, render_copier, tree

# Each rule's rejected answers and its message, from questions.yml: both engines must say it.
BAD_ANSWERS = bad_answers()


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS, ids=lambda a: str(a)[:40])
def test_copier_rejects_with_one_clear_line(
    tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError) as caught:
        render_copier(destination, answers)
    assert str(caught.value).endswith(message)
    assert "\n" not in str(caught.value)
    assert not destination.exists()


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS, ids=lambda a: str(a)[:40])
def test_cookiecutter_rejects_with_the_same_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], answers: dict[str, str], message: str
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        render_cookiecutter(output, answers)
    assert f"error: {message}\n" in capfd.readouterr().err
    assert [p.name for p in output.iterdir() if not p.name.startswith(".cc-")] == []


def test_good_unusual_answers_are_accepted(tmp_path: Path) -> None:
    answers = {
        "project_name": 'Quote "Me" & <Co>',
        "project_slug": "quote-me",
        "description": "Uses: colons, 'quotes', \"more\" and a back\\slash",
        "author_name": 'O\'Brien "Data" Team',
    }
    project = render_copier(tmp_path / "copier", answers)
    baked = render_cookiecutter(tmp_path / "cc", answers)
    assert tree(project).keys() - {ANSWERS_FILE} == tree(baked).keys()
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"][0]["name"] == answers["author_name"]
    assert (project / "README.md").read_text().startswith(f"# {answers['project_name']}\n")
