"""JSON text of many rows at once, for writers that fill one template per row.

Each column is encoded once by pydantic-core's compiled encoder (`json_values`) and the rows are
assembled by `fill_rows` with list slicing and one join, so that no Python code runs per row:
the answer and the prediction log hold the GIL that requests share as briefly as they can.
"""

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json

NOT_FINITE = "a value is NaN or infinite; it is not JSON"
_NUMBERS = {int, float, bool, type(None)}  # their JSON text holds no comma
_TEXTS = {str, type(None)}


def json_values(values: Sequence[Any]) -> list[bytes]:
    """Each value as JSON text, in order; ValueError for a NaN or an infinite number."""
    if not values:
        return []
    kinds = set(map(type, values))
    if kinds <= _NUMBERS:
        text = to_json(list(values))
        if b"N" in text or b"I" in text:  # NaN, Infinity: not JSON
            raise ValueError(NOT_FINITE)
        return text[1:-1].split(b",")
    if kinds <= _TEXTS:  # categories: few distinct values, each encoded once
        encoded = {value: to_json(value) for value in dict.fromkeys(values)}
        return list(map(encoded.__getitem__, values))
    known: dict[tuple[type, Any], bytes] = {}  # mixed types: 1, 1.0 and True are equal keys
    tokens = []
    for value in values:
        key = (type(value), value)
        token = known.get(key)
        if token is None:
            token = known[key] = to_json(value)
            if token in (b"NaN", b"Infinity", b"-Infinity"):
                raise ValueError(NOT_FINITE)
        tokens.append(token)
    return tokens


def fill_rows(segments: Sequence[bytes], columns: Sequence[Sequence[bytes]]) -> bytes:
    """Every row's text, joined: `segments[0] + columns[0][i] + segments[1] + ... + segments[-1]`.

    `segments` holds one more item than `columns`; every column holds one JSON text per row (as
    `json_values` gives), all of one length. The segments are put in as they are.
    """
    if len(segments) != len(columns) + 1:
        raise ValueError(f"{len(columns)} columns need {len(columns) + 1} segments")
    rows = len(columns[0]) if columns else 1
    if any(len(column) != rows for column in columns):
        raise ValueError("the columns hold different numbers of rows")
    width = 2 * len(columns) + 1
    pieces: list[bytes] = [b""] * (rows * width)
    for position, segment in enumerate(segments):
        pieces[2 * position :: width] = [segment] * rows
    for position, column in enumerate(columns):
        pieces[2 * position + 1 :: width] = column
    return b"".join(pieces)
