"""The project's one CLI: features, train, gate, promote, monitor, export-model, serve, ...

Each command parses its arguments and calls one step. A UserError (bad config, bad data, bad
model URI) is printed as one line on stderr with exit code 2, never as a traceback.
"""

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from .errors import UserError

app = typer.Typer(
    help="Features, training, the model registry and the prediction service of this project.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="YAML run configuration, e.g. configs/v1.yaml.")
]


def main() -> None:
    """The console script: run the CLI, then exit without a last garbage collection.

    By then everything is written; collecting the millions of objects that MLflow, Evidently and
    pandas created would only delay the exit (about a second after `monitor`).
    """
    try:
        app()
    finally:
        gc.freeze()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector in a short job that mostly creates long-lived objects.

    Importing MLflow and Evidently creates millions of objects and triggers full collections that
    find almost nothing: pausing it shortens `monitor` by about a second. On the way out, what the
    block created moves straight to the oldest generation (freeze, then unfreeze), so that turning
    the collector back on does not start a collection over all of it at once.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError raised inside the block into one line on stderr and exit code 2."""
    try:
        yield
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def features(config: ConfigOption) -> None:
    """Validate the raw data and write the feature table and its manifest."""
    from .config import load_config
    from .features import build_features

    with user_errors():
        result = build_features(load_config(config).data)
    typer.echo(
        f"features: {result.manifest['rows']} rows -> {result.path} "
        f"(fingerprint {result.fingerprint[:12]})"
    )


@app.command()
def train(
    config: ConfigOption,
    metrics_out: Annotated[
        Path | None,
        typer.Option(help="Also write the run's metrics and provenance to this JSON file."),
    ] = None,
) -> None:
    """Build features, train, evaluate, and register a new model version."""
    from . import metrics_file
    from .config import load_config
    from .training import train as train_step

    with user_errors():
        result = train_step(load_config(config))
    for name, value in result.metrics.items():
        typer.echo(
            f"  {name:<20} {value:.4f}  (trivial baseline {result.baseline_metrics[name]:.4f})"
        )
    if metrics_out is not None:
        record = metrics_file.MetricsRecord(
            metrics=result.metrics,
            config=str(config),
            config_fingerprint=result.config_fingerprint,
            data_fingerprint=result.data_fingerprint,
            model_uri=result.version.uri,
            run_id=result.version.run_id,
            git_commit=result.git_commit,
            created=metrics_file.now(),
        )
        metrics_file.write(metrics_out, record)
    typer.echo(f"registered {result.version.uri} (run {result.version.run_id})")


@app.command("init-registry")
def init_registry() -> None:
    """Create the model registry's database once, before any concurrent runs."""
    from .registry import init_registry as init

    with user_errors():
        uri = init()
    typer.echo(f"registry ready at {uri}")


@app.command()
def gate(
    config: ConfigOption = Path("configs/smoke.yaml"),
    update_baseline: Annotated[
        bool, typer.Option(help="Record the current candidate as the new baseline instead.")
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Also write the table to this file.")] = None,
) -> None:
    """Compare candidate metrics with the committed baseline; exit 1 on a regression."""
    from . import gate as rules
    from .config import load_config
    from .release import run_gate
    from .release import update_baseline as record_baseline

    with user_errors():
        settings = load_config(config)
        if update_baseline:
            typer.echo(
                f"baseline recorded in {record_baseline(settings, config)}; review and commit it"
            )
            return
        result = run_gate(settings, config)
    table = rules.markdown(result)
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


@app.command()
def promote(
    model: Annotated[str, typer.Option(help="The candidate, models:/<name>/<version>.")],
    config: ConfigOption = Path("configs/v1.yaml"),
) -> None:
    """Move the `champion` alias to MODEL if it passes the gate against the current champion."""
    from . import gate as rules
    from .config import load_config
    from .release import promote as promote_step

    with user_errors():
        decision = promote_step(model, load_config(config), config)
    if decision.result is not None:
        typer.echo(
            rules.markdown(decision.result, title=f"{decision.version} vs {decision.champion}")
        )
    typer.echo(decision.reason)
    if not decision.promoted and decision.champion != decision.version:
        raise typer.Exit(code=1)


ModelUriOption = Annotated[
    str | None,
    typer.Option(
        "--model-uri",
        envvar="MODEL_URI",
        help="models:/<name>/<version> or models:/<name>@<alias>.",
        show_default=False,
    ),
]


@app.command("export-model")
def export_model(
    model_uri: ModelUriOption,
    out: Annotated[Path, typer.Option(help="Folder to write the model and model-info.json to.")],
) -> None:
    """Copy a model version (an alias resolved to its version) out of the registry into a folder."""
    from .registry import export_model as export

    with user_errors():
        if model_uri is None:
            raise UserError("export-model: pass --model-uri or set MODEL_URI")
        info = export(model_uri, out)
    typer.echo(f"exported {info.uri} (run {info.run_id}) -> {out}")


@app.command()
def serve(
    model_uri: ModelUriOption = None,
    host: Annotated[str, typer.Option(envvar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(envvar="WORKERS", min=1, help="Worker processes (one per core).")
    ] = 1,
) -> None:
    """Serve one model version over HTTP; settings from the environment (see the README)."""
    from .serving.fetch import fetch_model

    with user_errors():
        environ = dict(os.environ, **({"MODEL_URI": model_uri} if model_uri else {}))
        # The export (the slowest part of start-up) starts first; the rest happens meanwhile.
        with fetch_model(environ.get("MODEL_URI"), environ.get("MODEL_DIR")) as fetch:
            from .serving.server import serve as run
            from .serving.settings import Settings

            settings = Settings.from_env(environ)
            run(
                settings.model_copy(update={"model_dir": fetch.model_dir()}),
                host=host,
                port=port,
                workers=workers,
            )


@app.command()
def monitor(
    config: ConfigOption = Path("configs/v1.yaml"),
    model: Annotated[
        str | None,
        typer.Option(
            help="models:/<name>/<version> or models:/<name>@<alias>; default: the config's "
            "model @champion."
        ),
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
    from datetime import UTC, datetime

    from . import drift_worker

    drift_worker.shared()  # first: Evidently's import starts now, on another core
    with paused_gc():
        from .config import load_config
        from .monitoring import monitor as monitor_step
        from .window import window

        now = datetime.now(UTC).replace(microsecond=0)
        with user_errors():
            # The job builds no model: scikit-learn need not check model.params (nor be imported).
            settings = load_config(config, model_checks=False)
            outcome = monitor_step(settings, model, window(since, start, end, now), labels, now)
    typer.echo(outcome.text)
    raise typer.Exit(code=outcome.summary.exit_code)
