"""The Spark session behind `data.engine: spark` (features) and `predict --engine spark`.

One session per process, local by default: `local[2]` (SPARK_MASTER overrides it), bound to
127.0.0.1 (SPARK_LOCAL_IP, the driver's host and bind address), no web UI, few shuffle
partitions, UTC. PySpark is an optional dependency (`make setup-spark`) and Spark needs Java 17+:
either missing is one UserError naming the fix.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING

from ..core.errors import UserError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER = "local[2]"
LOOPBACK = "127.0.0.1"
SETTINGS = {
    "spark.driver.host": LOOPBACK,
    "spark.driver.bindAddress": LOOPBACK,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def master() -> str:
    """The Spark master URL: SPARK_MASTER, else MASTER (`local[2]`)."""
    return os.environ.get("SPARK_MASTER", MASTER)


def java_missing() -> str | None:
    """Why no JVM can start here (no `java` on PATH, no JAVA_HOME), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.isfile(os.path.join(home, "bin", "java")):
        return None
    if shutil.which("java"):
        return None
    return "Spark needs Java 17+ and no `java` is on PATH (nor JAVA_HOME)"


def session() -> SparkSession:
    """The process's Spark session, started on first use with SETTINGS."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError(
            "Spark is not installed: run `make setup-spark` (uv sync --group spark), "
            "or set data.engine: duckdb"
        ) from None
    reason = java_missing()
    if reason is not None:
        raise UserError(
            f"{reason}; install a JRE (e.g. apt-get install openjdk-17-jre-headless) "
            "or set data.engine: duckdb"
        )
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    # Python workers run this interpreter (the project's environment), not whatever is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master()).appName(__name__.split(".")[0])
    for key, value in SETTINGS.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
