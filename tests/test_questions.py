"""questions.yml is the one source: the engine files are generated from it, fresh, and agree."""

import json
import keyword
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from ml_template_dev import ROOT, engines
from ml_template_dev.questions import QUESTIONS, SOURCE, VERSION, QuestionsError, load

COPIER = yaml.safe_load((ROOT / "copier.yml").read_text())
COOKIECUTTER = json.loads((ROOT / "cookiecutter.json").read_text())
ASKED = {
    name: spec
    for name, spec in COPIER.items()
    if not name.startswith("_") and spec.get("when") is not False
}


def _cookiecutter_default(value: object) -> object:
    """Cookiecutter's default: the first choice of a list, else the value itself."""
    return value[0] if isinstance(value, list) else value


def _as_copier(expression: str) -> str:
    """Cookiecutter's `cookiecutter.x` Jinja names, written as copier's plain `x`."""
    return expression.replace("cookiecutter.", "")


def test_engine_files_are_generated_from_questions_yml() -> None:
    stale = engines.stale()
    assert not stale, f"{', '.join(stale)} differ from what questions.yml gives: run `make engines`"


def test_generated_files_say_so() -> None:
    for name in ("copier.yml", "hooks/pre_gen_project.py"):
        assert "GENERATED" in "".join((ROOT / name).read_text().splitlines()[:3]), name


def test_same_questions_in_the_same_order() -> None:
    asked = [name for name in COOKIECUTTER if not name.startswith("_")]
    assert asked == list(ASKED) == list(QUESTIONS.questions)


def test_same_defaults_choices_and_prompts() -> None:
    for name, spec in ASKED.items():
        value = COOKIECUTTER[name]
        if "choices" in spec:
            assert value == [str(c) for c in spec["choices"]], name
            assert value[0] == str(spec["default"]), (
                f"{name}: cookiecutter's default is the first choice"
            )
        else:
            assert _as_copier(str(value)).replace(" ", "") == str(spec["default"]).replace(
                " ", ""
            ), name
        assert COOKIECUTTER["__prompts__"][name] == spec["help"], name
        assert str(spec["default"]) == QUESTIONS.questions[name].default, name


def test_template_version_is_the_same_everywhere() -> None:
    computed = COPIER["cookiecutter"]["default"]
    version = re.search(r'"_template_version": "([^"]+)"', computed)
    assert version is not None
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert COOKIECUTTER["_template_version"] == version.group(1) == VERSION == pyproject, (
        "set the version in questions.yml and pyproject.toml, then run `make engines` and `uv lock`"
    )


def test_computed_question_carries_every_answer() -> None:
    computed = COPIER["cookiecutter"]["default"]
    for name in ASKED:
        assert f'"{name}": {{{{ {name} | tojson }}}}' in computed, name
    assert COPIER["cookiecutter"]["when"] is False


def test_no_feature_that_needs_trust() -> None:
    for key in ("_tasks", "_migrations", "_jinja_extensions"):
        assert key not in COPIER, f"{key} makes copier demand --trust"
    assert COPIER["_templates_suffix"] == ""
    assert COPIER["_envops"]["undefined"] == "jinja2.StrictUndefined"


def test_every_rule_has_answers_it_rejects() -> None:
    assert QUESTIONS.problem(QUESTIONS.defaults()) == "", "the default answers are fine"
    assert QUESTIONS.defaults()["package_name"] == "my_ml_project"
    for rule in QUESTIONS.rules():
        assert rule.rejects, rule
        for answer in rule.rejects:
            answers = QUESTIONS.defaults(**{rule.question: answer})
            assert QUESTIONS.problem(answers) == rule.message_for(answer)


def test_the_keyword_rule_lists_pythons_keywords() -> None:
    (rule,) = [
        rule
        for rule in QUESTIONS.questions["package_name"].rules
        if rule.check == "not_one_of" and "lambda" in rule.argument
    ]
    assert sorted(rule.argument) == sorted(keyword.kwlist)


# A questions.yml that breaks the source's own rules is refused with one line saying how to fix it.
BAD_SOURCES = [
    ("  _min_copier_version:", "  _tasks: [echo]\n  _min_copier_version:", "_tasks makes copier"),
    ("  _min_copier_version:", '  _subdirectory: "x"\n  _min_copier_version:', "generate_engines"),
    ("default: My ML Project", 'default: "{{ package_name }}"', "not an earlier question"),
    ("rejects: [Bad Slug]", "rejects: [good-slug]", "must break this rule and no earlier one"),
    ("valid slug:", "valid {package_name} slug:", "may only name its own answer"),
    (
        "choices: [classification, regression]",
        "choices: [classification, regression]\n    default: regression",
        "the default is the first choice",
    ),
    ("default: ml-team@example.com", "default: nobody", "breaks its own rule"),
    ("slug_of: project_name", "slug_of: package_name", "slug_of names an earlier question"),
]


@pytest.mark.parametrize(("old", "new", "problem"), BAD_SOURCES, ids=[b[2] for b in BAD_SOURCES])
def test_a_bad_source_is_refused(tmp_path: Path, old: str, new: str, problem: str) -> None:
    text = SOURCE.read_text()
    assert old in text
    bad = tmp_path / "questions.yml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(QuestionsError, match=re.escape(problem)) as caught:
        load(bad)
    assert "\n" not in str(caught.value)
