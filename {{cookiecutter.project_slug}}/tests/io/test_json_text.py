"""Column-wise JSON text: each value as json.dumps writes it, rows assembled in order."""

import json
import math

import pytest

from {{ cookiecutter.package_name }}.io.json_text import fill_rows, json_values


@pytest.mark.parametrize(
    "values",
    [
        [1, 2.5, None, True, -0.0, 1e300, 5e-324],
        ["a", None, "a", "b,c", 'quote " and \\', "é ☃ \U0001f600", ""],
        [1, 1.0, True, "1", None],  # equal as dict keys, different JSON
        range(5),
        [],
    ],
)
def test_each_value_is_its_own_json_text(values: list[object]) -> None:
    assert [json.loads(token) for token in json_values(values)] == list(values)
    assert [type(json.loads(token)) for token in json_values(values)] == [
        type(value) for value in values
    ]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("others", [[1.0], ["text"]])
def test_a_value_that_is_not_json_is_refused(bad: float, others: list[object]) -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        json_values([*others, bad])


def test_rows_are_the_segments_and_values_in_order() -> None:
    text = fill_rows([b"[", b",", b"]\n"], [[b"1", b"2"], [b'"a"', b"null"]])
    assert text == b'[1,"a"]\n[2,null]\n'
    assert fill_rows([b"{}\n"], []) == b"{}\n"
    assert fill_rows([b"[", b"]"], [[]]) == b""


def test_mismatched_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="2 segments"):
        fill_rows([b"[", b",", b"]"], [[b"1"]])
    with pytest.raises(ValueError, match="different numbers of rows"):
        fill_rows([b"[", b",", b"]"], [[b"1"], [b"2", b"3"]])
