"""Data access: the only module that opens data files or an Ibis backend.

The default backend is an embedded DuckDB; any Ibis backend (Spark, for data beyond one machine)
can be passed instead, since the feature code only builds Ibis expressions.

A table may be a local file or an object in object storage (`s3://bucket/key.csv`): `local_file`
copies such an object into a temporary file (`object_store.py`), which either engine then reads
exactly as it reads a local file, so the features and their fingerprint are the same. The copy
needs disk space for the file, not memory. With Spark the copy is on the driver's disk: a local
master (`local[N]`, the default) reads it; a cluster's executors could not, which is an error.
"""

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import ibis
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from ..core.errors import UserError
from . import object_store, spark

# A table's place: a local path, or an `s3://bucket/key` URI (text: a Path folds its `//`).
Location = Path | str
FORMATS = (".csv", ".parquet")


def location(text: str) -> Location:
    """A command-line table argument as a Location: an s3:// URI stays text, else a Path."""
    return text if object_store.is_s3(text) else Path(text)


def check_format(table: Location) -> None:
    """The table's name ends in a format the steps read (before anything is read or copied)."""
    suffix = Path(str(table)).suffix.lower()
    if suffix not in FORMATS:
        raise UserError(
            f"raw data file {table}: unsupported format '{suffix}'; use .csv or .parquet"
        )


@contextmanager
def local_file(table: Location, engine: Literal["duckdb", "spark"] = "duckdb") -> Iterator[Path]:
    """A local path as it is; an s3:// object copied into a temporary file for the block.

    The copy keeps the object's name (and so its format). For Spark it must be readable where
    Spark reads: only a local master's (see the module's docstring).
    """
    if not object_store.is_s3(table):
        yield Path(table)
        return
    check_format(table)
    if engine == "spark" and not spark.master().startswith("local"):
        raise UserError(
            f"{table[:200]}: Spark on a cluster (SPARK_MASTER={spark.master()[:60]}) cannot "
            "read the driver's copy of an s3:// table; put the table on a path every executor "
            "mounts and set data.raw_path to it, or unset SPARK_MASTER"
        )
    with tempfile.TemporaryDirectory(prefix="raw-table-") as scratch:
        copy = Path(scratch) / Path(table).name
        object_store.download(table, copy)
        yield copy


@contextmanager
def written_file(table: Location) -> Iterator[Path]:
    """Where to write a table: a local path as it is, or a temporary file for an s3:// URI.

    The temporary file is uploaded to the URI when the block ends without an error (nothing is
    uploaded otherwise).
    """
    if not object_store.is_s3(table):
        yield Path(table)
        return
    with tempfile.TemporaryDirectory(prefix="output-table-") as scratch:
        local = Path(scratch) / Path(table).name
        yield local
        object_store.upload(local, table)


def connect(engine: Literal["duckdb", "spark"] = "duckdb") -> BaseBackend:
    """An in-process DuckDB connection, or Ibis on the Spark session (`io/spark.py`)."""
    if engine == "spark":
        return ibis.pyspark.connect(spark.session())
    return ibis.duckdb.connect()


def read_raw(con: BaseBackend, path: Path) -> ibis.Table:
    """Open a raw CSV (every column as text, as written, for validation) or Parquet file.

    Either engine reads the same: a CSV's columns as text (an empty field is null), a Parquet
    file's columns in its own types.
    """
    if not path.is_file():
        raise UserError(f"raw data file {path} not found; check data.raw_path in the config")
    check_format(path)
    if path.suffix.lower() == ".csv":
        if con.name == "pyspark":
            return con.read_csv(str(path), inferSchema=False)
        return con.read_csv(path, all_varchar=True)
    return con.read_parquet(str(path))


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
