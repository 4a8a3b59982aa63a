"""The model runner: every request gets its own rows' results, and only finite ones."""

import asyncio
import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.serving.runner import (
    Columns,
    ModelRunner,
    Predictions,
    ScoringError,
)


def doubling(columns: Columns) -> Predictions:
    """A scorer: twice the column `x`; NaN where `x` is negative (a model gone wrong)."""
    return Predictions([2 * x if x >= 0 else math.nan for x in columns["x"]], None)


async def score_all(tables: list[Columns]) -> list[Predictions | BaseException]:
    runner = ModelRunner(doubling, max_rows=100)
    runner.start()
    try:
        return await asyncio.gather(*(runner.score(t) for t in tables), return_exceptions=True)
    finally:
        runner.close()


def test_requests_scored_together_get_their_own_rows() -> None:
    tables: list[Columns] = [{"x": [float(i), float(i) + 0.5]} for i in range(20)]
    answers = asyncio.run(score_all(tables))
    for table, answer in zip(tables, answers, strict=True):
        assert isinstance(answer, Predictions)
        assert answer.values == [2 * x for x in table["x"]]


def test_a_prediction_that_is_not_finite_fails_only_its_own_request() -> None:
    answers = asyncio.run(score_all([{"x": [1.0]}, {"x": [-1.0]}, {"x": [3.0]}]))
    assert [a.values for a in answers if isinstance(a, Predictions)] == [[2.0], [6.0]]
    assert isinstance(answers[1], ScoringError)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_predictions_know_whether_they_are_finite(bad: float) -> None:
    assert Predictions([1.0, 2.0], None).finite()
    assert not Predictions([1.0, bad], None).finite()
    assert not Predictions([0, 1], np.array([[0.5, 0.5], [bad, 0.1]])).finite()
