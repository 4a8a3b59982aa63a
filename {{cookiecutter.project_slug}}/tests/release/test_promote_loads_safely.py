"""`promote` loads versions as serving does (skops, fixed trusted types), never by unpickling."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.io import registry
from tests.helpers import assert_one_line_error, project_config

pytestmark = pytest.mark.slow
runner = CliRunner()


class Trap:
    """Unpickling it touches a file: proof that a loader ran the pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


def test_a_pickled_version_is_refused_without_being_unpickled(workdir: Path) -> None:
    import mlflow.sklearn

    config = project_config("smoke.yaml")
    name = config.registry.model_name
    marker = workdir / "unpickled"
    registry.init_registry()
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            Trap(marker),
            name="model",
            serialization_format="cloudpickle",
            registered_model_name=name,
        )
    marker.unlink(missing_ok=True)  # logging may have round-tripped it
    result = runner.invoke(
        app, ["promote", "--model", f"models:/{name}/1", "--config", "configs/smoke.yaml"]
    )
    assert result.exit_code == 2, result.output
    assert_one_line_error(result.stderr, f"cannot load model models:/{name}/1", "skops")
    assert not marker.exists(), "promote unpickled the model"
    assert registry.alias_version(name, registry.CHAMPION) is None
