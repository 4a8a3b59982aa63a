"""The project's one command line: features, train, init-registry, export-model, serve.

Each command parses its arguments and calls one step. A UserError (bad config, bad data, bad
model URI) is printed as one line on stderr with exit code 2, never as a traceback.
"""

import json
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
    from .config import load_config
    from .training import train as train_step

    with user_errors():
        result = train_step(load_config(config))
    for name, value in result.metrics.items():
        typer.echo(
            f"  {name:<20} {value:.4f}  (trivial baseline {result.baseline_metrics[name]:.4f})"
        )
    if metrics_out is not None:
        metrics_out.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "model_uri": result.version.uri,
            "run_id": result.version.run_id,
            "config": str(config),
            "config_fingerprint": result.config_fingerprint,
            "data_fingerprint": result.data_fingerprint,
            "metrics": result.metrics,
        }
        metrics_out.write_text(json.dumps(summary, indent=2) + "\n")
    typer.echo(f"registered {result.version.uri} (run {result.version.run_id})")


@app.command("init-registry")
def init_registry() -> None:
    """Create the model registry's database once, before any concurrent runs."""
    from .registry import init_registry as init

    with user_errors():
        uri = init()
    typer.echo(f"registry ready at {uri}")


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
    import os

    from .serving.server import serve as run
    from .serving.settings import Settings

    with user_errors():
        environ = dict(os.environ, **({"MODEL_URI": model_uri} if model_uri else {}))
        run(Settings.from_env(environ), host=host, port=port, workers=workers)
