"""Exporting from the embedded registry without MLflow: the same folder as MLflow's, or nothing."""

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.model_uri import alias_uri
from {{ cookiecutter.package_name }}.io import registry, sqlite_registry
from {{ cookiecutter.package_name }}.io.exported_model import read_info
from {{ cookiecutter.package_name }}.io.registry import RegisteredVersion
from {{ cookiecutter.package_name }}.io.sqlite_registry import MLFLOW_ROUTING, export_version
from {{ cookiecutter.package_name }}.training.train import train
from tests.helpers import project_config


@pytest.fixture(scope="module")
def registered(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, RegisteredVersion]]:
    """A registry with one trained smoke model, its `champion`; tests run in its folder."""
    folder = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name in ("MLFLOW_TRACKING_URI", *MLFLOW_ROUTING):
            patch.delenv(name, raising=False)
        result = train(project_config("smoke.yaml", features_dir=folder / "features"))
        registry.set_alias(result.version.name, "champion", result.version.version)
        yield folder / "mlflow.db", result.version


@pytest.fixture
def database(registered: tuple[Path, RegisteredVersion], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The registry's database, named by MLFLOW_TRACKING_URI."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{registered[0]}")
    return registered[0]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("form", ["version", "alias"])
def test_the_folder_is_byte_for_byte_the_one_mlflow_exports(
    registered: tuple[Path, RegisteredVersion], database: Path, tmp_path: Path, form: str
) -> None:
    version = registered[1]
    uri = version.uri if form == "version" else alias_uri(version.name, "champion")
    direct = export_version(uri, tmp_path / "direct")
    registry.export_model(uri, tmp_path / "mlflow")
    assert direct == read_info(tmp_path / "mlflow")
    files = _files(tmp_path / "direct")
    assert files == _files(tmp_path / "mlflow")
    assert {"MLmodel", "model.skops", "model-info.json", "reference-features.json"} <= set(files)


@pytest.mark.slow
def test_serves_export_worker_imports_neither_mlflow_nor_pandas(
    registered: tuple[Path, RegisteredVersion], database: Path, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from {{ cookiecutter.package_name }}.serving.fetch import _export\n"
        f"_export({registered[1].uri!r}, Path({str(tmp_path / 'model')!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'pandas')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "model" / "model-info.json").is_file()


def _sql(update: str) -> Callable[[Path], None]:
    def spoil(database: Path) -> None:
        with closing(sqlite3.connect(database)) as connection, connection:
            connection.execute(f"UPDATE {update}")

    return spoil


def _garbage(database: Path) -> None:
    database.write_bytes(b"not a database" * 100)


REFUSED: dict[str, tuple[Callable[[Path], None] | None, dict[str, str], str]] = {
    # what is wrong: (change to a copy of the database, environment, model URI)
    "another schema revision": (_sql("alembic_version SET version_num = 'f00'"), {}, ""),
    "a damaged database": (_garbage, {}, ""),
    "a version that does not exist": (None, {}, "models:/{name}/99"),
    "an alias that is not set": (None, {}, "models:/{name}@nobody"),
    "a deleted version": (_sql("model_versions SET current_stage = 'Deleted_Internal'"), {}, ""),
    "a version registering": (_sql("model_versions SET status = 'PENDING_REGISTRATION'"), {}, ""),
    "a version in another workspace": (_sql("model_versions SET workspace = 'team-b'"), {}, ""),
    "model artefacts elsewhere": (_sql("model_versions SET storage_location = 's3://b/m'"), {}, ""),
    "run artefacts elsewhere": (_sql("runs SET artifact_uri = 's3://b/r'"), {}, ""),
    "a registry of its own": (None, {"MLFLOW_REGISTRY_URI": "sqlite:///{db}"}, ""),
    "workspaces": (None, {"MLFLOW_ENABLE_WORKSPACES": "true"}, ""),
    "a tracking server": (None, {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, ""),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", REFUSED)
def test_anything_it_cannot_be_sure_of_is_left_to_mlflow_untouched(
    registered: tuple[Path, RegisteredVersion],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    spoil, env, uri = REFUSED[case]
    copy = tmp_path / "copy.db"
    shutil.copyfile(registered[0], copy)
    if spoil is not None:
        spoil(copy)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{copy}")
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(db=copy))
    before = copy.read_bytes()
    target = tmp_path / "model"
    uri = (uri or registered[1].uri).format(name=registered[1].name)
    assert export_version(uri, target) is None
    assert not target.exists(), "nothing written"
    assert copy.read_bytes() == before, "the database is only read"


def test_reference_columns_read_as_the_export_through_mlflow_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "number": np.where(rng.random(50) < 0.2, np.nan, rng.normal(size=50)),
            "count": rng.integers(0, 9, 50),
            "flag": pd.Series([True, None, False, True, None] * 10, dtype=object),
            "category": pd.Categorical(["a", "b", None, "a", "c"] * 10),
            "text": pd.Series(["x", "ü", None, "x", "y"] * 10, dtype="object"),
            "nullable": pd.array([1, None, 3, 4, 5] * 10, dtype="Int64"),
        }
    )
    names = list(frame.columns)[::-1]  # the schema's order, not the file's
    monkeypatch.setattr(registry, "feature_names", lambda: names)
    monkeypatch.setattr(sqlite_registry, "feature_names", lambda: names)
    path = tmp_path / "reference.parquet"
    frame.to_parquet(path)
    direct = sqlite_registry._reference(path)
    expected = registry.reference_columns(pd.read_parquet(path))
    assert json.dumps(direct) == json.dumps(expected)


def test_a_reference_column_of_another_kind_is_left_to_mlflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_registry, "feature_names", lambda: ["when"])
    path = tmp_path / "reference.parquet"
    pd.DataFrame({"when": pd.date_range("2026-01-01", periods=3)}).to_parquet(path)
    with pytest.raises(sqlite_registry._LeftToMlflow, match="reference column when"):
        sqlite_registry._reference(path)
    assert sqlite_registry._reference(tmp_path / "missing.parquet") is None
