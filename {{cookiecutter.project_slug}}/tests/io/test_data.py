"""Where tables are read from: a local path as it is, an s3:// object through a local copy.

The copy itself (object storage on a real server) is tested by the template's tracking-server
test; these are the checks made before anything is copied.
"""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.io import data


def test_a_table_argument_is_a_path_unless_it_names_object_storage() -> None:
    assert data.location("s3://bucket/t.csv") == "s3://bucket/t.csv"
    assert data.location("data/t.csv") == Path("data/t.csv")


def test_a_local_table_is_read_where_it_is_and_written_where_named(tmp_path: Path) -> None:
    with data.local_file(tmp_path / "t.csv") as path:
        assert path == tmp_path / "t.csv"
    with data.written_file(tmp_path / "out.parquet") as path:
        assert path == tmp_path / "out.parquet"


def test_an_s3_table_is_checked_before_it_is_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    unsupported = r"unsupported format '\.txt'; use \.csv or \.parquet"
    with pytest.raises(UserError, match=unsupported), data.local_file("s3://bucket/t.txt"):
        pass
    monkeypatch.setenv("SPARK_MASTER", "spark://cluster:7077")
    cluster = "put the table on a path every executor mounts"
    with pytest.raises(UserError, match=cluster), data.local_file("s3://bucket/t.csv", "spark"):
        pass
