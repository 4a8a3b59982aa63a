"""The project's one CLI: features, train, gate, promote, monitor, export-model, serve, ...

Each command parses its arguments and calls one step. A UserError (bad config, bad data, bad
model URI) is printed as one line on stderr with exit code 2, never as a traceback; so is a
mistake on the command line itself (an unknown option, a value of the wrong type).
"""

import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .core.errors import UserError

app = typer.Typer(
    help="Features, training, the model registry, serving and monitoring of this project.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="YAML configuration, e.g. configs/v1.yaml.")
]
MODEL_HELP = "models:/<name>/<version> or models:/<name>@<alias>"
TableOption = Annotated[
    str | None,
    typer.Option(help="A raw table (CSV/Parquet, a path or s3://...); default: data.raw_path."),
]


class Engine(StrEnum):
    """Where a step computes: the embedded DuckDB or Spark (`make setup-spark`)."""

    duckdb = "duckdb"
    spark = "spark"


def main() -> None:
    """The console script and `python -m`: run the CLI; exit with its code.

    Typer would answer a command-line mistake with a usage box; here it is one `error:` line
    naming the command, like every other bad input, with the same exit code (2). Logging is
    configured first (LOG_LEVEL, LOG_FORMAT; see core/logs.py).
    """
    from .core import logs

    try:
        logs.configure()
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as error:  # the base of typer's (vendored) click errors
        if type(error).__name__ == "NoArgsIsHelpError":  # no command: typer showed the help
            sys.exit(error.exit_code)
        ctx = getattr(error, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        message = " ".join(f"{where}{error.format_message()}".split())
        typer.echo(f"error: {message} (see --help)", err=True)
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError raised inside the block into one line on stderr and exit code 2."""
    try:
        yield
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None


@app.command("features")
def features_command(config_path: ConfigOption) -> None:
    """Validate the raw data and write the feature table and its manifest."""
    from .core import progress
    from .core.config import load_config
    from .features import build_features

    with user_errors():
        config = load_config(config_path)
        with progress.step("features"):
            result = build_features(config.data)
    typer.echo(
        f"features: {result.manifest['rows']} rows -> {result.path} "
        f"(fingerprint {result.fingerprint[:12]})"
    )


schema_app = typer.Typer(help="The data contract (schema.yaml): infer it from a table.")
app.add_typer(schema_app, name="schema")


@schema_app.command("infer")
def schema_infer_command(
    path: Annotated[Path, typer.Argument(help="The table: a .csv or .parquet file.")],
    target: Annotated[str, typer.Option(help="The column the model predicts.")],
    id_column: Annotated[
        str | None, typer.Option("--id", help="A column that identifies rows (unique).")
    ] = None,
    config_path: ConfigOption = Path("configs/v1.yaml"),
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing, different schema.yaml (after the diff).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Write this file instead of the project's schema.yaml (to compare)."),
    ] = None,
) -> None:
    """Write schema.yaml from a table; if one exists and differs, show the diff (exit 1)."""
    from .core.config import read_problem_type
    from .core.schema import SCHEMA_FILE
    from .schema_infer import infer, save

    words = ["schema", "infer", str(path), "--target", target]
    command = shlex.join(words + (["--id", id_column] if id_column else []))
    with user_errors():
        problem_type = read_problem_type(config_path)
        inferred = infer(path, target, id_column, problem_type, command)
    target_file = SCHEMA_FILE if out is None else out
    saved = save(inferred, target_file, overwrite)
    typer.echo(saved.diff, nl=False)
    if saved.unchanged:
        typer.echo(f"{target_file} already describes {path}; nothing to change")
        return
    if not saved.written:
        typer.echo(f"{target_file} not changed: review the diff above, then rerun with --overwrite")
        raise typer.Exit(code=1)
    typer.echo(
        f"wrote {target_file}: {inferred.rows} rows, {inferred.features} features, "
        f"{inferred.problem_type} of '{target}'; review it, then train"
    )
    for name in inferred.id_candidates:
        typer.echo(
            f"note: column '{name}' has a distinct value per row; pass --id {name} if it names rows"
        )


@app.command("train")
def train_command(
    config_path: ConfigOption,
    metrics_out: Annotated[
        Path | None,
        typer.Option(help="Also write the run's metrics and provenance to this JSON file."),
    ] = None,
) -> None:
    """Build features, train, evaluate, and register a new model version."""
    from .core.config import load_config
    from .release import metrics_file
    from .training.train import train

    with user_errors():
        result = train(load_config(config_path))
    for name, value in result.metrics.items():
        typer.echo(
            f"  {name:<20} {value:.4f}  (trivial baseline {result.baseline_metrics[name]:.4f})"
        )
    if metrics_out is not None:
        record = metrics_file.MetricsRecord(
            metrics=result.metrics,
            config=str(config_path),
            config_fingerprint=result.config_fingerprint,
            data_fingerprint=result.data_fingerprint,
            model_uri=result.version.uri,
            run_id=result.version.run_id,
            git_commit=result.git_commit,
            created=metrics_file.now(),
        )
        metrics_file.write(metrics_out, record)
    typer.echo(f"registered {result.version.uri} (run {result.version.run_id})")


@app.command("example-request")
def example_request_command(
    config_path: ConfigOption = Path("configs/v1.yaml"),
    table: TableOption = None,
    rows: Annotated[int, typer.Option(min=1, help="Records in the request.")] = 2,
    out: Annotated[Path, typer.Option(help="The file to write.")] = Path("examples/request.json"),
) -> None:
    """Write a /predict body made of the table's first rows, as the service expects them."""
    from .core.config import load_config
    from .io.data import location
    from .replay import example_request

    with user_errors():
        config = load_config(config_path).data
        text = example_request(location(table) if table else config.raw_path, config, rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    typer.echo(
        f"wrote {out}: {rows} record(s); send it with `curl -s localhost:8000/predict "
        f"-H 'content-type: application/json' -d @{out}`"
    )


@app.command("replay")
def replay_command(
    config_path: ConfigOption = Path("configs/v1.yaml"),
    table: TableOption = None,
    url: Annotated[str, typer.Option(help="The running service.")] = "http://127.0.0.1:8000",
    rows: Annotated[
        int | None, typer.Option(min=1, help="Send only the first N rows; default: all.")
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Records per request.")] = 200,
    shift: Annotated[
        list[str] | None,
        typer.Option(help="COLUMN=FACTOR: multiply a numeric feature (to see drift); repeatable."),
    ] = None,
) -> None:
    """Send a table's rows through the running service's /predict, in batches (then: monitor)."""
    from .core.config import load_config
    from .io.data import location
    from .replay import feature_rows, http_post, parse_shifts, replay

    with user_errors():
        config = load_config(config_path)
        shifts = parse_shifts(shift or [])
        source = location(table) if table else config.data.raw_path
        frame = feature_rows(source, config.data, rows, shifts)
        done = replay(frame, http_post(url), batch)
    typer.echo(
        f"replayed {done.rows} rows in {done.requests} requests to {url}: "
        f"{done.model_name} version {done.model_version}"
    )
    typer.echo(
        f"next: make monitor MODEL=models:/{done.model_name}/{done.model_version} "
        f"(needs monitoring.min_rows, {config.monitoring.min_rows}, in the window)"
    )


@app.command("init-registry")
def init_registry_command() -> None:
    """Create the model registry's database once, before any concurrent runs."""
    from .io import registry

    with user_errors():
        uri = registry.init_registry()
    typer.echo(f"registry ready at {uri}")


@app.command("gate")
def gate_command(
    config_path: ConfigOption = Path("configs/smoke.yaml"),
    update_baseline: Annotated[
        bool, typer.Option(help="Record the current candidate as the new baseline instead.")
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Also write the table to this file.")] = None,
) -> None:
    """Compare candidate metrics with the committed baseline; exit 1 on a regression."""
    from .core.config import load_config
    from .release import gate

    with user_errors():
        config = load_config(config_path)
        if update_baseline:
            path = gate.update_baseline(config, config_path)
            typer.echo(f"baseline recorded in {path}; review and commit it")
            return
        result = gate.run(config, config_path)
    table = gate.markdown(result)
    typer.echo(table)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(table)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(table)
    if not result.passed:
        raise typer.Exit(code=1)


@app.command("promote")
def promote_command(
    model: Annotated[str, typer.Option(help="The candidate, models:/<name>/<version>.")],
    config_path: ConfigOption = Path("configs/v1.yaml"),
) -> None:
    """Move the `champion` alias to MODEL if it passes the gate against the current champion."""
    from .core.config import load_config
    from .release import gate, promote

    with user_errors():
        decision = promote.promote(model, load_config(config_path), config_path)
    if decision.result is not None:
        typer.echo(
            gate.markdown(decision.result, title=f"{decision.version} vs {decision.champion}")
        )
    typer.echo(decision.reason)
    if not decision.promoted and decision.champion != decision.version:
        raise typer.Exit(code=1)


ServedModelOption = Annotated[
    str | None,
    typer.Option("--model", envvar="MODEL_URI", help=MODEL_HELP, show_default=False),
]


@app.command("export-model")
def export_model_command(
    model: ServedModelOption,
    out: Annotated[Path, typer.Option(help="Folder to write the model and model-info.json to.")],
) -> None:
    """Copy a model version (an alias resolved to its version) out of the registry into a folder."""
    from .core import progress
    from .io import registry

    with user_errors():
        if model is None:
            raise UserError("export-model: pass --model or set MODEL_URI")
        with progress.step("export-model"):
            info = registry.export_model(model, out)
    typer.echo(f"exported {info.uri} (run {info.run_id}) -> {out}")


@app.command("serve")
def serve_command(
    model: ServedModelOption = None,
    host: Annotated[str, typer.Option(envvar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on (1-65535).")] = 8000,
    workers: Annotated[
        int, typer.Option(envvar="WORKERS", min=1, help="Worker processes (one per core).")
    ] = 1,
) -> None:
    """Serve one model version over HTTP; settings from the environment (see the README)."""
    from .serving import server

    with user_errors():
        if not 1 <= port <= 65535:  # uvicorn would listen on a random port instead
            raise UserError(f"--port/PORT {port} is not a TCP port; use 1-65535 (e.g. 8000)")
        server.serve(model, host=host, port=port, workers=workers)


@app.command("monitor")
def monitor_command(
    config_path: ConfigOption = Path("configs/v1.yaml"),
    model: Annotated[
        str | None,
        typer.Option(help=f"{MODEL_HELP}; default: the config's model @champion."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Window length back from --to: 30m, 24h, 7d, 2w.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Window start, ISO 8601 (UTC if no offset).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Window end (exclusive), ISO 8601; default: now.")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="Labels file (CSV/Parquet); default: monitoring.labels_path."),
    ] = None,
) -> None:
    """Check one version's logged predictions for drift: exit 0 ok, 3 drift, 4 too few rows."""
    from .monitoring import job

    with user_errors():
        outcome = job.run(config_path, model, since=since, start=start, end=end, labels=labels)
    typer.echo(outcome.text)
    raise typer.Exit(code=outcome.summary.exit_code)


@app.command("predict")
def predict_command(
    model: Annotated[str, typer.Option(help=MODEL_HELP)],
    input_path: Annotated[
        str,
        typer.Option("--input", help="Raw rows to score: a .csv or .parquet file, or s3://..."),
    ],
    output: Annotated[
        str, typer.Option(help="Predictions: .parquet or .csv (by the suffix), or s3://...")
    ],
    config_path: ConfigOption = Path("configs/v1.yaml"),
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows scored at a time (bounds the memory used).")
    ] = 100_000,
    engine: Annotated[
        Engine | None,
        typer.Option(
            help="Where to score: duckdb (local, in chunks) or spark; default: data.engine."
        ),
    ] = None,
) -> None:
    """Score a table of raw rows with one model version; write one prediction per row."""
    from .batch import predict
    from .core import progress
    from .core.config import load_config
    from .io.data import location

    with user_errors():
        config = load_config(config_path)
        with progress.step("predict") as advance:
            result = predict.predict(
                model,
                location(input_path),
                location(output),
                config.data.as_of,
                chunk_rows=chunk_rows,
                progress=advance,
                engine=engine.value if engine is not None else config.data.engine,
            )
    info = result.info
    typer.echo(f"scored {result.rows} rows with {info.uri} (run {info.run_id}) -> {result.output}")
