"""JSON text of many values at once, for writers that fill one template per row."""

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json

NOT_FINITE = "a value is NaN or infinite; it is not JSON"


def json_values(values: Sequence[Any]) -> list[bytes]:
    """Each value as JSON text, in order; ValueError for a NaN or an infinite number."""
    if all(value is None or isinstance(value, int | float) for value in values):
        text = to_json(list(values))  # numbers, booleans and nulls hold no comma
        if b"N" in text or b"I" in text:  # NaN, Infinity: not JSON
            raise ValueError(NOT_FINITE)
        return text[1:-1].split(b",") if values else []
    known: dict[tuple[type, Any], bytes] = {}  # e.g. a category's text, encoded once
    encoded = []
    for value in values:
        key = (type(value), value)
        token = known.get(key)
        if token is None:
            token = known[key] = to_json(value)
            if token in (b"NaN", b"Infinity", b"-Infinity"):
                raise ValueError(NOT_FINITE)
        encoded.append(token)
    return encoded


def literal(value: Any) -> bytes:
    """`value` as JSON text for a %-template: its `%` signs doubled."""
    return to_json(value).replace(b"%", b"%%")
