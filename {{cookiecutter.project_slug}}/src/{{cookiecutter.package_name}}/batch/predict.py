"""Batch scoring: a table of raw rows -> one prediction per row from one pinned model version.

The rows pass through the feature pipeline's own rules and feature code (`features.py`), so a
table is scored exactly as training saw its data. Locally one DuckDB query validates the rows and
computes the features, and its result is read, scored and written in chunks: memory is bounded by
the chunk size, whatever the size of the table. The first row that breaks a rule stops the run
with one line naming the row, the column and the rule; nothing is written then.
"""

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv
import pyarrow.parquet as pq
from sklearn.pipeline import Pipeline

from ..core.errors import UserError
from ..core.model_uri import parse_model_uri, version_uri
from ..core.schema import SCHEMA_FILE, schema
from ..features import missing_columns, model_inputs, row_checks, scoring_columns
from ..io import data, exported_model, registry

CHUNK_ROWS = 100_000
OUTPUT_FORMATS = (".parquet", ".csv")
BROKEN = "__broken"
# Every output row names the version that scored it.
PROVENANCE = ("model_name", "model_version", "run_id")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Scored:
    """What a batch run did: rows scored, by which version, written where."""

    rows: int
    info: exported_model.ModelInfo
    output: data.Location


@contextmanager
def pinned_model(uri: str) -> Iterator[exported_model.Bundle]:
    """The version a model URI names (an alias resolved once), exported and loaded."""
    parsed = parse_model_uri(uri)
    version = parsed.version
    if parsed.alias is not None:
        version = registry.alias_version(parsed.name, parsed.alias)
        if version is None:
            raise UserError(
                f"model {uri}: no version of '{parsed.name}' has the alias '{parsed.alias}'; "
                f"pass models:/{parsed.name}/<version>, or set the alias with `promote`"
            )
    with tempfile.TemporaryDirectory() as scratch:
        registry.export_model(version_uri(parsed.name, str(version)), Path(scratch))
        yield exported_model.read_bundle(Path(scratch))


def check_output(path: data.Location) -> None:
    """The output's suffix names a format this step writes."""
    suffix = Path(str(path)).suffix
    if suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(
            f"output {path}: unknown format '{suffix}'; end the name in .parquet or .csv"
        )


def scoring_query(raw: ibis.Table, as_of: date | None) -> tuple[ibis.Table, dict[str, str]]:
    """Id (if any), the features, and `__broken`: the first rule each row breaks, or null.

    Returns the query and, per rule key, the text naming its column and rule.
    """
    contract = schema()
    columns = scoring_columns()
    rules: dict[str, str] = {}
    cases = []
    for index, column in enumerate(columns):
        for rule, (text, flag) in row_checks(raw, column).items():
            key = f"c{index}_{rule}"
            rules[key] = f"column '{column.name}': {text}"
            cases.append((flag, key))
    flagged = raw.mutate(**{BROKEN: ibis.cases(*cases, else_=ibis.null("string"))})
    typed, features = model_inputs(flagged, as_of, columns, keep=(BROKEN,))
    identity = {} if contract.id_column is None else {contract.id_column: typed[contract.id_column]}
    return typed.select(**identity, **features, **{BROKEN: typed[BROKEN]}), rules


def _first_broken(batch: pa.RecordBatch, offset: int, source: str, rules: dict[str, str]) -> None:
    """Raise UserError for the first row of the batch that breaks a rule (rows count from 1)."""
    flags = batch.column(BROKEN)
    bad = pc.sum(pc.is_valid(flags)).as_py() or 0
    if not bad:
        return
    first = pc.index(pc.is_valid(flags), True).as_py()
    more = f" (and {bad - 1} more bad row(s) in this chunk)" if bad > 1 else ""
    raise UserError(
        f"{source}: row {offset + first + 1}, {rules[flags[first].as_py()]}{more}; "
        f"fix the row or the rule in {SCHEMA_FILE.name}"
    )


def score_frame(
    model: Pipeline, frame: pd.DataFrame, info: exported_model.ModelInfo
) -> pd.DataFrame:
    """Predictions for a frame of features (and the id), with the version that made them.

    Columns: the id (if any), `prediction` (label or value), a classifier's `probability_<class>`
    per class, and the version's name, number and run id.
    """
    contract = schema()
    inputs = frame[contract.feature_names()]
    out: dict[str, object] = {}
    if contract.id_column is not None:
        out[contract.id_column] = frame[contract.id_column].to_numpy()
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(inputs), dtype=np.float64)
        out["prediction"] = model.classes_[probabilities.argmax(axis=1)]
        for index, label in enumerate(model.classes_):
            out[f"probability_{label}"] = probabilities[:, index]
    else:
        out["prediction"] = np.asarray(model.predict(inputs), dtype=np.float64)
    result = pd.DataFrame(out)
    for key, value in zip(PROVENANCE, (info.name, info.version, info.run_id), strict=True):
        result[key] = value
    return result


class Writer:
    """Writes tables to a file as Parquet or CSV, with the schema of the first table."""

    def __init__(self, path: Path, parquet: bool) -> None:
        self.path, self.parquet = path, parquet
        self._writer: pq.ParquetWriter | pyarrow.csv.CSVWriter | None = None

    def write(self, table: pa.Table) -> None:
        """Append a table's rows (the first one opens the file)."""
        if self._writer is None:
            kind = pq.ParquetWriter if self.parquet else pyarrow.csv.CSVWriter
            self._writer = kind(self.path, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file (Parquet writes its footer here)."""
        if self._writer is not None:
            self._writer.close()


def score_file(
    bundle: exported_model.Bundle,
    source: Path,
    output: Path,
    as_of: date | None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    name: str | None = None,
) -> Scored:
    """Score every row of `source` (CSV/Parquet raw rows) with a loaded model into `output`.

    The output (Parquet or CSV, by its suffix) appears only when every row was scored; rows keep
    the input's order. `progress(done, total)` is called after each chunk. Messages name the
    input as `name` (default: the path; a copy's origin, e.g. its s3:// URI).
    """
    info, model = bundle
    check_output(output)
    source_name = name or str(source)
    con = data.connect()
    raw = data.read_raw(con, source)
    missing_columns(raw, source_name, scoring_columns())
    query, rules = scoring_query(raw, as_of)
    total = int(raw.count().execute())
    if total == 0:
        raise UserError(f"{source_name}: no rows to score; pass a table with at least one row")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    writer = Writer(partial, parquet=output.suffix.lower() == ".parquet")
    done = 0
    try:
        for batch in data.record_batches(con, query, chunk_rows):
            if not len(batch):
                continue
            _first_broken(batch, done, source_name, rules)
            scored = score_frame(model, batch.drop_columns([BROKEN]).to_pandas(), info)
            writer.write(pa.Table.from_pandas(scored, preserve_index=False))
            done += len(batch)
            if progress is not None:
                progress(done, total)
    finally:
        writer.close()
        if done < total:
            partial.unlink(missing_ok=True)
    partial.replace(output)
    return Scored(rows=done, info=info, output=output)


def predict(
    model_uri: str,
    source: data.Location,
    output: data.Location,
    as_of: date | None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    engine: Literal["duckdb", "spark"] = "duckdb",
) -> Scored:
    """Score `source` with the version a model URI names (an alias is resolved once, first).

    Locally (`duckdb`) in chunks of `chunk_rows`; with `spark` as a Spark job (`on_spark.py`),
    with the same output. Either file may be in object storage (`s3://`): the input is copied
    in first, the output written locally and then uploaded (`io/data.py`).
    """
    check_output(output)
    with data.local_file(source, engine) as local, data.written_file(output) as target:
        data.read_raw(data.connect(), local)  # a missing or unreadable input fails before the model
        with pinned_model(model_uri) as bundle:
            if engine == "spark":
                from . import on_spark

                scored = on_spark.score_file(bundle, local, target, as_of, progress, str(source))
            else:
                scored = score_file(bundle, local, target, as_of, chunk_rows, progress, str(source))
    return Scored(rows=scored.rows, info=scored.info, output=output)
