"""Batch scoring as a Spark job (`predict --engine spark`): same rules, features and output.

The validation and feature query is the one local scoring runs (`predict.scoring_query`), here on
the Spark session; the model is broadcast to the executors and scores each partition with
`mapInPandas`. The partitions are written as Parquet parts to a scratch folder beside the output
and then joined, in the input's order, into one file: the same file local scoring writes.
"""

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..core.errors import UserError
from ..core.schema import SCHEMA_FILE, schema
from ..features import missing_columns, scoring_columns
from ..io import data, exported_model, spark
from .predict import (
    BROKEN,
    PROVENANCE,
    Progress,
    Scored,
    Writer,
    check_output,
    score_frame,
    scoring_query,
)


def _first_broken(frame: Any, source: str, rules: dict[str, str]) -> None:
    """Raise UserError naming the first row (counting from 1, in file order) that breaks a rule."""
    broken = frame.select(BROKEN).rdd.zipWithIndex().filter(lambda pair: pair[0][0] is not None)
    first = broken.take(1)
    if first:
        (key,), index = first[0]
        raise UserError(
            f"{source}: row {index + 1}, {rules[key]}; "
            f"fix the row or the rule in {SCHEMA_FILE.name}"
        )


def _output_schema(model: Any, id_column: str | None) -> Any:
    """The Spark schema of `predict.score_frame`'s result for this model."""
    from pyspark.sql import types

    fields = [] if id_column is None else [types.StructField(id_column, types.StringType())]
    if hasattr(model, "predict_proba"):
        label = types.LongType() if model.classes_.dtype.kind in "iu" else types.StringType()
        fields.append(types.StructField("prediction", label))
        fields += [
            types.StructField(f"probability_{c}", types.DoubleType()) for c in model.classes_
        ]
    else:
        fields.append(types.StructField("prediction", types.DoubleType()))
    fields += [types.StructField(name, types.StringType()) for name in PROVENANCE]
    return types.StructType(fields)


def score_file(
    bundle: exported_model.Bundle,
    source: Path,
    output: Path,
    as_of: date | None,
    progress: Progress | None = None,
    name: str | None = None,
) -> Scored:
    """`predict.score_file` as a Spark job: the same checks, features, columns and row order."""
    info, model = bundle
    check_output(output)
    source_name = name or str(source)
    con = data.connect("spark")
    raw = data.read_raw(con, source)
    missing_columns(raw, source_name, scoring_columns())
    query, rules = scoring_query(raw, as_of)
    frame = spark.session().sql(con.compile(query))
    _first_broken(frame, source_name, rules)
    shipped = spark.session().sparkContext.broadcast((info, model))

    def score(frames: Any) -> Any:
        loaded_info, loaded_model = shipped.value
        for features in frames:
            yield score_frame(loaded_model, features, loaded_info)

    scored = frame.drop(BROKEN).mapInPandas(score, _output_schema(model, schema().id_column))
    output.parent.mkdir(parents=True, exist_ok=True)
    parts = output.with_name(f".{output.name}.spark")
    partial = output.with_name(f".{output.name}.partial")
    shutil.rmtree(parts, ignore_errors=True)
    rows = 0
    try:
        scored.write.parquet(str(parts))
        writer = Writer(partial, parquet=output.suffix.lower() == ".parquet")
        try:
            for part in sorted(parts.glob("part-*.parquet")):
                table = pq.read_table(part)
                if table.num_rows:
                    writer.write(table)
                    rows += table.num_rows
        finally:
            writer.close()
        if rows == 0:
            raise UserError(f"{source_name}: no rows to score; pass a table with at least one row")
        partial.replace(output)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
        partial.unlink(missing_ok=True)
        shipped.unpersist()
    if progress is not None:
        progress(rows, rows)
    return Scored(rows=rows, info=info, output=output)
