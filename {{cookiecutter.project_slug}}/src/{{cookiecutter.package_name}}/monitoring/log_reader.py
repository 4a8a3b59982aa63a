"""The monitoring job's inputs, read column-wise by DuckDB: the prediction log and labels.

`read_log` reads the files `io.prediction_log` writes, by that module's format (a test keeps it in
agreement with a plain line-by-line reader), in DuckDB, in one pass: the fields of every line are
checked in SQL, lines that break the format are counted, and only the rows in the window reach
pandas, per model version a seeded sample when there are more than `sample_above` (only those
rows' features are decoded). One deliberate difference: a row number beyond 64 bits, which the
writer never produces, counts as malformed here.

Object storage: a `s3://bucket/prefix` log is copied into a temporary folder by pyarrow's S3
client (credentials, region and endpoint from the standard AWS variables and files, e.g.
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL), then read as a local one.
DuckDB's own S3 reader is its httpfs extension, which it downloads at run time.

Line length: the service writes short lines (its categories are bounded), but a log may hold
longer ones (an older version, a larger MAX_BODY_BYTES, a hand-edited file). Lines up to
`LONGEST_LINE` (4 GiB) are read like any other; a longer one is a one-line error naming the limit.
"""

import fnmatch
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from ..core.errors import UserError
from ..core.schema import Schema, feature_names
from ..io.prediction_log import FILE_PATTERN

S3_SCHEME = "s3://"


def _string(value: str) -> str:
    return f"starts_with({value}, '\"')"


def _number(value: str) -> str:
    return f"left({value}, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"


# What each field of a log line may hold, by the log's format. DuckDB hands over each value as
# valid JSON text, so its first character tells a string, a number or an object apart; only a row
# number needs the exact JSON type (an integer).
JSON_OBJECT_START = "{"  # the first character of a JSON object
_FIELDS: dict[str, Callable[[str], str]] = {
    "request_id": _string,
    "row": lambda value: f"json_type({value}) IN ('BIGINT', 'UBIGINT')",
    "timestamp": _string,
    "model_name": _string,
    "model_version": _string,
    "run_id": _string,
    "latency_ms": _number,
    "features": lambda value: f"starts_with({value}, '{JSON_OBJECT_START}')",
    "prediction": _number,
    "probability": lambda value: f"({value} IS NULL OR {_number(value)})",  # JSON null or absent
}
# An ISO-8601 time with a UTC offset: a timestamp without one is malformed.
_ZONED = r"([zZ]|[+-]\d\d(:?\d\d)?)$"
# The columns of a read: the log's fields, the features, and the sampling key (DuckDB's 64-bit
# hash of seed, request id and row: a pseudo-random number per row, stable for a DuckDB version,
# which uv.lock pins).
_LOG_COLUMNS = ["timestamp", "request_id", "row", "model_name", "model_version"]
# The longest line DuckDB reads: its JSON reader's largest `maximum_object_size` (a 32-bit size).
# Its default (16 MiB) keeps the reader's buffers small, so a read uses it and is repeated with
# this limit only when it meets a longer line; the line counter (DuckDB's CSV reader) takes this
# limit at no cost.
LONGEST_LINE = 2**32 - 1
# DuckDB's errors for a line over a limit: its JSON reader's, its CSV reader's.
_TOO_LONG = re.compile(r'"maximum_object_size" of \d+ bytes exceeded|Maximum line size of')


def _empty() -> pd.DataFrame:
    """A read with no rows: the log's fields, every feature, and the sampling key."""
    columns = [*_LOG_COLUMNS, "prediction", "probability"]
    return pd.DataFrame(columns=[*columns, *feature_names(), "sample_key"])


def _identifier(name: str) -> str:
    """A column name as a DuckDB identifier: quoted, so spaces, dots or keywords are fine."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class LogRead:
    """One pass over the prediction log: every model version's rows in a window.

    `kept` holds, per version, its rows in the window, or the `sample_above` with the smallest
    sampling keys when there are more; `rows` counts them all per (model name, version);
    `malformed` counts the lines that break the log's format, whatever their time or version.
    """

    kept: pd.DataFrame
    rows: dict[tuple[str, str], int]
    malformed: int
    sample_above: int
    sample_rows: int

    def window(self, model_name: str, model_version: str) -> "LogWindow":
        """The rows of one version (a sample of `sample_rows` above `sample_above` rows)."""
        rows = self.rows.get((model_name, model_version), 0)
        mine = self.kept[
            (self.kept["model_name"] == model_name) & (self.kept["model_version"] == model_version)
        ]
        if rows > self.sample_above:
            mine = mine.nsmallest(self.sample_rows, "sample_key")
        frame = mine.drop(columns=["model_name", "model_version", "sample_key"])
        return LogWindow(
            frame=frame.sort_values(["timestamp", "request_id", "row"], ignore_index=True),
            rows=rows,
            read=self,
            other_versions={
                f"{name}/{version}": n
                for (name, version), n in sorted(self.rows.items())
                if n and (name, version) != (model_name, model_version)
            },
        )


@dataclass(frozen=True)
class LogWindow:
    """One model version's logged rows in a time window, and what else the log held."""

    frame: pd.DataFrame
    rows: int
    other_versions: dict[str, int]
    read: LogRead = field(repr=False)

    @property
    def sampled(self) -> bool:
        """True when `frame` is a sample of the window's rows rather than all of them."""
        return len(self.frame) < self.rows

    @property
    def malformed(self) -> int:
        """The log's malformed lines (see `LogRead.malformed`)."""
        return self.read.malformed


def _records_sql(longest_line: int | None) -> str:
    """A query over the log files ($files): one row per well-formed line, its features as JSON.

    Only the fields every line needs (to be checked, counted, filtered and sampled) are decoded
    here; the features of the rows kept are decoded by `_features_sql`, after sampling. Lines
    longer than `longest_line` bytes (DuckDB's default when None) make the query fail.
    """
    size = "" if longest_line is None else f", maximum_object_size = {longest_line}"
    types = " AND ".join(check(name) for name, check in _FIELDS.items())
    columns = "{" + ", ".join(f"'{name}': 'JSON'" for name in _FIELDS) + "}"
    return f"""
        SELECT * EXCLUDE (ok)
        FROM (
            SELECT
                coalesce(
                    try_strptime(timestamp, '"%Y-%m-%dT%H:%M:%S.%f%z"'),
                    CASE WHEN regexp_matches(timestamp ->> '$', '{_ZONED}')
                        THEN TRY_CAST(timestamp ->> '$' AS TIMESTAMPTZ) END
                ) AS timestamp,
                request_id ->> '$' AS request_id,
                TRY_CAST(row AS BIGINT) AS row,
                model_name ->> '$' AS model_name,
                model_version ->> '$' AS model_version,
                prediction,
                probability,
                features,
                {types} AS ok
            FROM read_json(
                $files, format = 'newline_delimited', columns = {columns},
                ignore_errors = true{size}
            )
        )
        WHERE ok AND timestamp IS NOT NULL AND row IS NOT NULL
    """


def _features_sql(records: str) -> str:
    """Typed columns of the well-formed `records` (a relation): the log fields, every feature."""
    numeric = set(feature_names("numeric"))
    struct = json.dumps({name: "VARCHAR" for name in feature_names()}, ensure_ascii=False)
    struct = struct.replace("'", "''")  # inside a SQL string literal
    values = [
        f"TRY_CAST(f.{_identifier(name)} AS DOUBLE) AS {_identifier(name)}"
        if name in numeric
        else f"f.{_identifier(name)} AS {_identifier(name)}"
        for name in feature_names()
    ]
    return f"""
        SELECT
            timestamp, request_id, row, model_name, model_version,
            CAST(prediction AS DOUBLE) AS prediction,
            CAST(probability AS DOUBLE) AS probability,
            {", ".join(values)},
            sample_key
        FROM (SELECT *, json_transform(features, '{struct}') AS f FROM {records})
    """


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    return con


def read_log(
    directory: Path | str,
    *,
    start: datetime,
    end: datetime,
    sample_above: int,
    sample_rows: int,
    seed: int,
) -> LogRead:
    """Read every log file once: per model version, its rows logged in [start, end).

    Above `sample_above` rows, a version's rows are sampled: the `sample_rows` rows with the
    smallest hash of (seed, request id, row), a uniform random sample without replacement that
    depends on neither file order nor threads, so the same log, window and seed always give the
    same rows. `directory` may be a `s3://bucket/prefix` (see the module's docstring).
    """
    if isinstance(directory, str) and directory.startswith(S3_SCHEME):
        with _s3_copy(directory) as copy:
            return read_log(
                copy,
                start=start,
                end=end,
                sample_above=sample_above,
                sample_rows=sample_rows,
                seed=seed,
            )
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(
            f"prediction log folder {directory} not found; set monitoring.log_dir in the config "
            "to the service's PREDICTION_LOG_DIR"
        )
    files = [str(path) for path in sorted(directory.glob(FILE_PATTERN))]
    if not files:
        return LogRead(_empty(), {}, 0, sample_above, sample_rows)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-lines") as counter:
            # Every line, well-formed or not, is counted in a second pass over the files,
            # alongside the main one: only the malformed count needs it.
            lines = counter.submit(_count_lines, files)
            kept, counts = _read_versions(files, start=start, end=end, seed=seed, keep=sample_above)
            well_formed = sum(n for _, _, n, _ in counts)
            malformed = lines.result() - well_formed
    except duckdb.InvalidInputException as error:
        if not _TOO_LONG.search(str(error)):
            raise
        raise UserError(
            f"{directory} holds a line over {LONGEST_LINE:,} bytes, the most the monitoring job "
            "reads; remove it from its file"
        ) from None
    return LogRead(
        kept=kept,
        rows={(name, version): n for name, version, _, n in counts},
        malformed=malformed,
        sample_above=sample_above,
        sample_rows=sample_rows,
    )


@contextmanager
def _s3_copy(prefix: str) -> Iterator[Path]:
    """The log files directly under an s3:// prefix, copied into a temporary folder.

    The files are downloaded on a few threads; the folder is removed when the block ends. An
    unreachable store or a missing bucket is a UserError; a prefix with no files, an empty log.
    """
    from pyarrow import fs

    with tempfile.TemporaryDirectory(prefix="prediction-log-") as scratch:
        try:
            store, path = fs.FileSystem.from_uri(prefix)
            found = store.get_file_info(fs.FileSelector(path, allow_not_found=True))

            def download(info: fs.FileInfo) -> None:
                with (
                    store.open_input_stream(info.path) as remote,
                    (Path(scratch) / info.base_name).open("wb") as local,
                ):
                    shutil.copyfileobj(remote, local, 1024 * 1024)

            logs = [
                info
                for info in found
                if info.type == fs.FileType.File and fnmatch.fnmatch(info.base_name, FILE_PATTERN)
            ]
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="log-download") as pool:
                list(pool.map(download, logs))
        except OSError as error:
            raise UserError(
                f"monitoring.log_dir {prefix[:200]} cannot be read ({str(error)[:200]}); check the "
                "bucket and the AWS_* variables (credentials, AWS_REGION, AWS_ENDPOINT_URL)"
            ) from None
        yield Path(scratch)


def _read_versions(
    files: list[str], *, start: datetime, end: datetime, seed: int, keep: int
) -> tuple[pd.DataFrame, list[tuple[str, str, int, int]]]:
    """The rows kept (features decoded); per version: name, version, well-formed lines, rows.

    The files are read with DuckDB's default longest line, and again with LONGEST_LINE if they
    hold a longer one.
    """
    con = _connect()
    # One core fewer than the machine has: meanwhile the caller imports MLflow and the Evidently
    # worker imports Evidently.
    con.execute(f"SET threads = {max(1, (os.cpu_count() or 1) - 1)}")
    parameters = {"files": files, "start": start, "end": end, "seed": seed, "keep": keep}
    try:
        con.execute(_versions_sql(None), parameters)
    except duckdb.InvalidInputException as error:
        if not _TOO_LONG.search(str(error)):
            raise
        con.execute(_versions_sql(LONGEST_LINE), parameters)
    counts = con.execute("SELECT model_name, model_version, logged, rows FROM versions").fetchall()
    kept = con.execute(
        _features_sql(
            "(SELECT unnest(kept, recursive := true) FROM versions WHERE kept IS NOT NULL)"
        )
    ).df()
    return kept, counts


def _versions_sql(longest_line: int | None) -> str:
    """One pass over the files ($files): the table `versions`, per model version.

    Its well-formed lines (`logged`), its rows in the window [$start, $end) (`rows`) and the $keep
    of those with the smallest sampling keys (`kept`, all of them when there are no more). See
    `_records_sql` for `longest_line`.
    """
    in_window = "timestamp >= $start AND timestamp < $end"
    return f"""
        CREATE TEMP TABLE versions AS
        SELECT model_name, model_version, count(*) AS logged,
            count(*) FILTER ({in_window}) AS rows,
            min_by(records, sample_key, $keep) FILTER ({in_window}) AS kept
        FROM (SELECT *, hash($seed, request_id, row) AS sample_key
            FROM ({_records_sql(longest_line)})) AS records
        GROUP BY ALL
        """


def _count_lines(files: list[str]) -> int:
    """Every line of the files, well-formed or not, read as plain text (on one thread)."""
    con = _connect()
    con.execute("SET threads = 1")
    found = con.execute(
        "SELECT count(*) FROM read_csv($files, columns = {'line': 'VARCHAR'}, delim = '\x1e', "
        "quote = '', escape = '', header = false, auto_detect = false, strict_mode = false, "
        f"max_line_size = {LONGEST_LINE})",
        {"files": files},
    ).fetchone()
    return found[0] if found else 0


def read_labels(path: Path, contract: Schema) -> pd.DataFrame:
    """Read the labels that arrived for predicted rows, from CSV or Parquet.

    Columns: `request_id`, `row` (optional, 0 when absent) and the schema's target column, with
    values as in the training data (a classifier's are turned into 1 for the `positive` class,
    else 0). A row whose label is empty is not labelled yet.
    """
    target = contract.target
    # CSV as text, so that a label like "yes" is read as written rather than a sniffed boolean.
    readers = {".csv": "read_csv($path, all_varchar = true)", ".parquet": "read_parquet($path)"}
    source = readers.get(path.suffix.lower())
    if source is None:
        raise UserError(f"labels file {path}: unsupported format; use .csv or .parquet")
    con = _connect()
    try:
        columns = [
            c[0]
            for c in con.execute(f"DESCRIBE SELECT * FROM {source}", {"path": str(path)}).fetchall()
        ]
    except duckdb.Error as error:
        raise UserError(
            f"labels file {path} cannot be read: {str(error).splitlines()[0]}"
        ) from None
    missing = [name for name in ("request_id", target) if name not in columns]
    if missing:
        raise UserError(
            f"labels file {path}: missing column(s) {', '.join(missing)}; it needs request_id, "
            f"{target} and optionally row"
        )
    row = "TRY_CAST(row AS BIGINT)" if "row" in columns else "0"
    value = f"CAST({_identifier(target)} AS VARCHAR)"
    parameters: dict[str, object] = {"path": str(path)}
    if contract.positive is None:
        label, kind = f"TRY_CAST({value} AS DOUBLE)", "a number"
    else:
        column = contract.column(target)
        allowed = column.allowed
        parameters["positive"] = contract.positive
        label = f"CAST({value} = $positive AS DOUBLE)"
        kind = "a class"
        if column.dtype in ("int64", "float64"):
            # Numbers as numbers, and only the values the target's range allows.
            number = f"TRY_CAST({value} AS DOUBLE)"
            low = -math.inf if column.minimum is None else float(column.minimum)  # type: ignore[arg-type]
            high = math.inf if column.maximum is None else float(column.maximum)  # type: ignore[arg-type]
            parameters.update(low=low, high=high)
            label = (
                f"CASE WHEN {number} BETWEEN $low AND $high "
                f"THEN CAST({number} = TRY_CAST($positive AS DOUBLE) AS DOUBLE) END"
            )
            kind = f"a number from {column.minimum} to {column.maximum}"
        elif allowed:
            parameters["allowed"] = list(allowed)
            label = f"CASE WHEN {value} IN $allowed THEN {label} END"
            kind = "one of " + ", ".join(allowed)
    frame = con.execute(
        f"SELECT CAST(request_id AS VARCHAR) AS request_id, {row} AS row, "
        f"{label} AS label, {value} IS NOT NULL AS given FROM {source}",
        parameters,
    ).df()
    bad = int((frame["given"] & frame["label"].isna()).sum()) + int(frame["row"].isna().sum())
    if bad:
        raise UserError(
            f"labels file {path}: {bad} row(s) with a label that is not {kind} or a row that "
            "is not an integer; fix them"
        )
    frame = frame[frame["given"]].drop(columns="given")
    duplicated = int(frame.duplicated(["request_id", "row"]).sum())
    if duplicated:
        raise UserError(
            f"labels file {path}: {duplicated} duplicated (request_id, row) key(s); keep one "
            "label per predicted row"
        )
    return frame.reset_index(drop=True)
