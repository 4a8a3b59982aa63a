"""A bad answer gets questions.yml's one-line message from both engines; nothing is written."""

import tomllib
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from ml_template_dev.questions import QUESTIONS, bad_answers
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


# Names in several languages and the slug both engines derive from them.
NAMES = [
    ("Prévision des Ventes 2026", "prevision-des-ventes-2026"),
    ("Straße & Ölförderung", "strasse-olforderung"),
    ("Łódź: Ćwiczenia_ML", "lodz-cwiczenia-ml"),
    ("Dự báo doanh số", "du-bao-doanh-so"),
    ("Ærø Œuvre ﬁnance", "aero-oeuvre-finance"),
    ("Pre\u0301vision", "prevision"),  # typed in decomposed form: e + combining accent
    ("Sales 売上 Forecast", "sales-forecast"),
]


@pytest.mark.parametrize(("name", "slug"), NAMES)
def test_a_name_in_any_language_derives_a_valid_slug(name: str, slug: str) -> None:
    answers = QUESTIONS.defaults(project_name=name)
    assert answers["project_slug"] == slug
    assert answers["package_name"] == slug.replace("-", "_")
    assert QUESTIONS.problem(answers) == ""


def test_both_engines_derive_the_same_slug(tmp_path: Path) -> None:
    name, slug = NAMES[0]
    project = render_copier(tmp_path / "copier", {"project_name": name})
    baked = render_cookiecutter(tmp_path / "cc", {"project_name": name})
    assert baked.name == slug
    for root in (project, baked):
        assert tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"] == slug
        assert (root / "src" / slug.replace("-", "_")).is_dir()


def test_a_name_without_latin_letters_asks_for_a_slug(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    answers = {"project_name": "売上予測"}
    message = QUESTIONS.problem(QUESTIONS.defaults(**answers))
    assert message.startswith("project_slug '-' has no Latin letter or digit")
    with pytest.raises(ValueError) as caught:
        render_copier(tmp_path / "project", answers)
    assert str(caught.value).endswith(message)
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        render_cookiecutter(output, answers)
    assert f"error: {message}\n" in capfd.readouterr().err
