"""copier.yml and cookiecutter.json ask the same questions with the same defaults and choices."""

import json
import re

from ml_template_dev import ROOT
from ml_template_dev.render import QUESTIONS

COOKIECUTTER = json.loads((ROOT / "cookiecutter.json").read_text())
ASKED = {
    name: spec
    for name, spec in QUESTIONS.items()
    if not name.startswith("_") and spec.get("when") is not False
}


def _cookiecutter_default(value: object) -> object:
    """Cookiecutter's default: the first choice of a list, else the value itself."""
    return value[0] if isinstance(value, list) else value


def _as_copier(expression: str) -> str:
    """Cookiecutter's `cookiecutter.x` Jinja names, written as copier's plain `x`."""
    return expression.replace("cookiecutter.", "")


def test_same_questions_in_the_same_order() -> None:
    asked = [name for name in COOKIECUTTER if not name.startswith("_")]
    assert asked == list(ASKED)


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


def test_template_version_is_the_same_in_both_engines() -> None:
    computed = QUESTIONS["cookiecutter"]["default"]
    version = re.search(r'"_template_version": "([^"]+)"', computed)
    assert version is not None
    assert COOKIECUTTER["_template_version"] == version.group(1)


def test_computed_question_carries_every_answer() -> None:
    computed = QUESTIONS["cookiecutter"]["default"]
    for name in ASKED:
        assert f'"{name}": {{{{ {name} | tojson }}}}' in computed, name
    assert QUESTIONS["cookiecutter"]["when"] is False


def test_no_feature_that_needs_trust() -> None:
    for key in ("_tasks", "_migrations", "_jinja_extensions"):
        assert key not in QUESTIONS, f"{key} makes copier demand --trust"
    assert QUESTIONS["_templates_suffix"] == ""
    assert QUESTIONS["_envops"]["undefined"] == "jinja2.StrictUndefined"
