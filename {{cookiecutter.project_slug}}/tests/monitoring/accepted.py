"""Records the service accepts, as Hypothesis strategies read from its request JSON schema.

The schema is the record's in `/openapi.json` (built from schema.yaml), so the strategies follow
a team's own columns and rules: per field, null, any finite number within `minimum`/`maximum`
(the extremes included: the bounds, ±1.8e308 where a side is open, 5e-324, -0.0), or any text
of at most `maxLength` characters (the longest, non-ASCII ones included).
"""

import math
import sys
from typing import Any

from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.serving.payloads import record_model

MAX = sys.float_info.max
TINY = 5e-324  # the smallest positive float
# Characters whose logged form is longest: a non-BMP character is 4 bytes in the request and
# 12 in the log (a JSON surrogate pair); a control character is escaped in both.
LONG_CHARACTERS = st.characters(min_codepoint=0x10000) | st.sampled_from("\x00\x1f\u2028é")


Properties = dict[str, dict[str, Any]]


def published() -> Properties:
    """The request record's JSON schema properties, as `/openapi.json` publishes them."""
    properties: Properties = record_model().model_json_schema(by_alias=True)["properties"]
    return properties


def fields(properties: Properties) -> dict[str, dict[str, Any]]:
    """Per field (JSON key), the schema of its value when not null."""
    return {
        name: next(option for option in spec["anyOf"] if option["type"] != "null")
        for name, spec in properties.items()
    }


def extremes(spec: dict[str, Any]) -> list[float | str]:
    """The most extreme values a field accepts: its bounds or the largest floats, tiny numbers;
    for a category, the longest text of characters logged longest, and the empty one."""
    if spec["type"] == "string":
        return ["\U0001f600" * spec["maxLength"], "\x00" * spec["maxLength"], ""]
    low, high = spec.get("minimum", -MAX), spec.get("maximum", MAX)
    return [float(low), float(high), *(v for v in (TINY, -TINY, -0.0) if low <= v <= high)]


def values(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Any value the field accepts, null included, extremes often."""
    accepted: st.SearchStrategy[Any]
    if spec["type"] == "string":
        longest = spec["maxLength"]
        accepted = st.text(max_size=longest) | st.text(
            LONG_CHARACTERS, min_size=longest, max_size=longest
        )
    else:
        low, high = spec.get("minimum", -MAX), spec.get("maximum", MAX)
        whole = st.integers(math.ceil(max(low, -(2**53))), math.floor(min(high, 2**53)))
        accepted = st.one_of(st.floats(low, high, allow_nan=False, allow_infinity=False), whole)
    return st.none() | st.sampled_from(extremes(spec)) | accepted


def records(properties: Properties) -> st.SearchStrategy[dict[str, Any]]:
    """One record the service accepts: every field, each any accepted value."""
    return st.fixed_dictionaries({name: values(spec) for name, spec in fields(properties).items()})


def edge_records(properties: Properties, base: dict[str, Any]) -> list[dict[str, Any]]:
    """`base` with one field set to one of its extremes, for every field and extreme."""
    return [
        {**base, name: value}
        for name, spec in fields(properties).items()
        for value in extremes(spec)
    ]
