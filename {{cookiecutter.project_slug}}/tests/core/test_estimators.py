import numpy as np
import pandas as pd
import pytest
import skops.io

from {{ cookiecutter.package_name }}.core.estimators import ESTIMATORS, SKOPS_TRUSTED_TYPES, build_pipeline
from {{ cookiecutter.package_name }}.core.schema import ProblemType, feature_names

CASES = [(problem, name) for problem, table in ESTIMATORS.items() for name in table]


def _frame(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in feature_names("numeric")})
    for name in feature_names("categorical"):
        frame[name] = rng.choice(np.array(["a", "b", None], dtype=object), size=rows)
    return frame


@pytest.mark.parametrize(("problem", "name"), CASES)
def test_every_estimator_fits_and_loads_with_the_trusted_types(
    problem: ProblemType, name: str
) -> None:
    x = _frame()
    y = np.arange(len(x)) % 2 if problem == "classification" else np.linspace(0, 1, len(x))
    model = build_pipeline(problem, name, {}, seed=7).fit(x, y)
    loaded = skops.io.loads(skops.io.dumps(model), trusted=SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_seed_reaches_the_estimator() -> None:
    model = build_pipeline("classification", "random_forest", {"n_estimators": 5}, seed=11)
    assert model.named_steps["estimator"].random_state == 11
