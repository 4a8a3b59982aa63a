from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }}.core.config import ProjectConfig, load_config, parse_config
from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.core.estimators import check_params
from {{ cookiecutter.package_name }}.core.schema import schema
from tests.helpers import PROJECT, not_a_feature, undocumented

CONFIGS = PROJECT / "configs"
FIRST = schema().features[0]
# A drift method of the other kind of column: ks is for numbers, chisquare for categories.
WRONG_METHOD = {"categorical": "ks", "numeric": "chisquare"}
NOT_A_FEATURE = not_a_feature()


def _smoke() -> dict[str, Any]:
    data = yaml.safe_load((CONFIGS / "smoke.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _error_of(edit: Callable[[dict[str, Any]], object]) -> str:
    """The one-line error of the smoke config after `edit`."""
    config = _smoke()
    edit(config)
    with pytest.raises(UserError) as caught:
        parse_config(config, "smoke.yaml")
    return str(caught.value)


@pytest.mark.parametrize("name", ["v1.yaml", "smoke.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_config(CONFIGS / name)
    assert config.problem_type == ("regression" if schema().positive is None else "classification")


def test_fingerprint_is_stable_and_sensitive() -> None:
    first, second = parse_config(_smoke()), parse_config(_smoke())
    assert first.fingerprint() == second.fingerprint()
    changed = _smoke()
    changed["split"] = {"test_size": 0.3, "seed": 42}
    assert parse_config(changed).fingerprint() != first.fingerprint()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c.update(learning_rate=0.1), "learning_rate: unknown key"),
        (lambda c: c["split"].update(test_size="half"), "split.test_size"),
        (lambda c: c["split"].update(test_size=1.5), "split.test_size"),
        (lambda c: c.pop("registry"), "registry: required key is missing"),
        (lambda c: c["model"].update(estimator="xgboost"), "model.estimator 'xgboost'"),
        (lambda c: c.update(metrics=["bogus"]), "metrics: bogus not available"),
        (lambda c: c.update(problem_type="ranking"), "problem_type"),
        (lambda c: c["data"].update(as_of="yesterday"), "data.as_of"),
        (lambda c: c["data"].update(raw_path="s3:/bucket/t.csv"), "written s3://bucket/key"),
        (lambda c: c["data"].update(raw_path="s3://bucket"), "written s3://bucket/key"),
    ],
)
def test_bad_config_is_one_clear_line(
    edit: Callable[[dict[str, Any]], object], expected: str
) -> None:
    message = _error_of(edit)
    assert expected in message
    assert message.startswith("smoke.yaml: ")
    assert "\n" not in message


def test_raw_path_may_name_an_object_in_object_storage() -> None:
    config = _smoke()
    config["data"]["raw_path"] = "s3://bucket/team/customers.parquet"
    assert parse_config(config).data.raw_path == "s3://bucket/team/customers.parquet"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"max_depht": 3}, "model.params: max_depht not a parameter of"),
        ({"random_state": 1}, "model.params.random_state: set split.seed instead"),
        ({"learning_rate": -1}, "model.params: The 'learning_rate' parameter of"),
        ({"learning_rate": "x" * 10_000}, "model.params: The 'learning_rate' parameter of"),
    ],
)
def test_estimator_params_are_checked_when_the_model_is_built(
    params: dict[str, Any], expected: str
) -> None:
    config = _smoke()
    config["model"]["params"].update(params)
    parsed = parse_config(config)  # loading a config builds no model: no scikit-learn check
    with pytest.raises(UserError) as caught:
        check_params(parsed.problem_type, parsed.model.estimator, parsed.model.params)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 500


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("run_name: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        load_config(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="expected a mapping"):
        load_config(listing)


def test_aliases_are_read_up_to_a_bound(tmp_path: Path) -> None:
    smoke = (CONFIGS / "smoke.yaml").read_text()
    shared = tmp_path / "shared.yaml"
    shared.write_text(f"x-name: &name smoke\n{smoke}".replace("run_name: smoke", "run_name: *name"))
    with pytest.raises(UserError, match="x-name: unknown key"):  # read, then validated
        load_config(shared)
    nested = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    nested += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 6)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(nested) + "\n")  # 10**6 values once expanded
    with pytest.raises(UserError, match="its aliases expand to more than 100000 values"):
        load_config(bomb)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c.update(run_name=["x" * 10_000] * 10_000), "run_name: Input should be"),
        (lambda c: c.update({"k" * 10_000: 1}), "kkk..."),
        (lambda c: c.update(metrics=["m" * 10_000] * 100), "(and 95 more)"),
        (lambda c: c.update({f"key{n}": n for n in range(100)}), "and 95 more problem(s)"),
    ],
)
def test_messages_cut_long_values_short(
    edit: Callable[[dict[str, Any]], object], expected: str
) -> None:
    message = _error_of(edit)
    assert expected in message
    assert len(message) < 600


def test_monitoring_defaults_are_the_documented_ones() -> None:
    settings = parse_config(_smoke()).monitoring
    assert load_config(CONFIGS / "v1.yaml").monitoring == settings, "v1.yaml spells out defaults"
    assert (settings.numeric.method, settings.categorical.method) == (
        "wasserstein",
        "jensenshannon",
    )
    assert (settings.drift_share, settings.min_rows, settings.sample_rows) == (0.2, 1000, 50_000)


def test_monitoring_does_not_change_the_config_fingerprint() -> None:
    changed = _smoke()
    changed["monitoring"] = {"drift_share": 0.5, "reference_rows": 100}
    assert parse_config(changed).fingerprint() == parse_config(_smoke()).fingerprint()


@pytest.mark.parametrize(
    ("monitoring", "expected"),
    [
        ({"drift_share": 0}, "monitoring.drift_share"),
        ({"numeric": {"method": "chisquare"}}, "monitoring.numeric.method"),
        ({"categorical": {"method": "wasserstein"}}, "monitoring.categorical.method"),
        ({"min_rows": 10, "sample_rows": 5}, "sample_rows must be at least min_rows"),
        ({"sample_above": 10, "sample_rows": 20}, "sample_rows must not exceed sample_above"),
        ({"columns": {NOT_A_FEATURE: {"method": "ks", "threshold": 0.05}}}, "not a feature"),
        (
            {"columns": {FIRST.name: {"method": WRONG_METHOD[FIRST.kind], "threshold": 0.05}}},
            f"{WRONG_METHOD[FIRST.kind]} does not apply to a {FIRST.kind} column",
        ),
        ({"treshold": 0.1}, "monitoring.treshold: unknown key"),
    ],
)
def test_bad_monitoring_section_is_one_clear_line(
    monitoring: dict[str, Any], expected: str
) -> None:
    config = _smoke()
    config["monitoring"] = monitoring
    with pytest.raises(UserError) as caught:
        parse_config(config, "smoke.yaml")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_config_key_is_documented() -> None:
    """The docs' reference table shows each key's description: none may be missing."""
    assert undocumented(ProjectConfig) == []
