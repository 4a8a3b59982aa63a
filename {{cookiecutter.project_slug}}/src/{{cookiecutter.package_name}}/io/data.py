"""Data access: the only module that opens data files or an Ibis backend.

The default backend is an embedded DuckDB; any Ibis backend (Spark, for data beyond one machine)
can be passed instead, since the feature code only builds Ibis expressions.
"""

import hashlib
from pathlib import Path
from typing import Literal

import ibis
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from ..core.errors import UserError


def connect(engine: Literal["duckdb", "spark"] = "duckdb") -> BaseBackend:
    """An in-process DuckDB connection, or Ibis on the Spark session (`io/spark.py`)."""
    if engine == "spark":
        from . import spark

        return ibis.pyspark.connect(spark.session())
    return ibis.duckdb.connect()


def read_raw(con: BaseBackend, path: Path) -> ibis.Table:
    """Open a raw CSV (every column as text, as written, for validation) or Parquet file.

    Either engine reads the same: a CSV's columns as text (an empty field is null), a Parquet
    file's columns in its own types.
    """
    if not path.is_file():
        raise UserError(f"raw data file {path} not found; check data.raw_path in the config")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if con.name == "pyspark":
            return con.read_csv(str(path), inferSchema=False)
        return con.read_csv(path, all_varchar=True)
    if suffix == ".parquet":
        return con.read_parquet(str(path))
    raise UserError(f"raw data file {path}: unsupported format '{suffix}'; use .csv or .parquet")


def read_typed(con: BaseBackend, path: Path) -> ibis.Table:
    """Open a raw file with its column types: Parquet's own, or a CSV's detected from every row."""
    read_raw(con, path)  # the same checks and errors
    if path.suffix.lower() == ".csv":
        return con.read_csv(path, sample_size=-1)
    return con.read_parquet(path)


def record_batches(con: BaseBackend, query: ibis.Table, rows: int) -> pa.RecordBatchReader:
    """A query's result as a stream of batches of at most `rows` rows, in the query's row order.

    DuckDB streams it straight from the relation (Ibis 12's own streaming call is missing from
    DuckDB 2's client); other backends through Ibis.
    """
    if con.name == "duckdb":
        return con.con.sql(con.compile(query)).to_arrow_reader(batch_size=rows)
    return query.to_pyarrow_batches(chunk_size=rows)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as Parquet, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


def fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a frame (column names, types and values), stable across runs."""
    digest = hashlib.sha256()
    digest.update(repr([(name, str(dtype)) for name, dtype in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks (any size of file in little memory)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
