"""`serve` refuses, at start-up and in one line, a version trained on other features."""

from dataclasses import replace
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.schema import feature_names
from {{ cookiecutter.package_name }}.io.exported_model import read_info
from {{ cookiecutter.package_name }}.serving.server import check_features


def test_a_version_trained_on_the_schemas_features_passes(model_dir: Path) -> None:
    check_features(read_info(model_dir))


def test_a_version_trained_on_other_features_names_the_difference(model_dir: Path) -> None:
    info = read_info(model_dir)
    kept = feature_names()[1:]
    older = replace(info, signature={"inputs": [{"name": n} for n in [*kept, "Old Column"]]})
    with pytest.raises(UserError) as error:
        check_features(older)
    message = str(error.value)
    assert message.startswith(f"{info.uri} was trained on other features: ")
    assert "no longer has Old Column" in message
    assert f"now also has {feature_names()[0]}" in message
    assert "\n" not in message
