"""Spark tests: run by `make test-spark`, skipped by `make test` (the `spark` marker).

A test here skips only where no JVM (or PySpark) can exist; with REQUIRE_SPARK=1, as in CI, that
is a failure instead, so CI never passes by skipping them.
"""

import os
from collections.abc import Iterator
from importlib.util import find_spec

import pytest

from {{ cookiecutter.package_name }}.io import spark


@pytest.fixture(scope="session", autouse=True)
def spark_available() -> Iterator[None]:
    """Skip (or, under REQUIRE_SPARK=1, fail) without PySpark or Java; stop Spark at the end."""
    reason = spark.java_missing()
    if find_spec("pyspark") is None:
        reason = "PySpark is not installed (make setup-spark)"
    if reason is not None:
        if os.environ.get("REQUIRE_SPARK") == "1":
            pytest.fail(f"REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    yield
    spark.session().stop()
