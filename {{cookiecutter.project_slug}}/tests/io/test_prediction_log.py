"""The prediction log's writer and format, read back with the reference reader in tests.helpers."""

import json
import logging
import math
import os
import resource
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.io.prediction_log import (
    FIELDS,
    OFFLOADED_ROWS,
    FeatureRows,
    LineEncoder,
    LoggedRequest,
    PredictionLogWriter,
    WriteFailure,
)
from tests.helpers import read_prediction_log

START = datetime(2026, 1, 1, tzinfo=UTC)
# The writer logs whatever features it is given: two of its own, names that need escaping.
NUMBER, CATEGORY = 'Monthly "Spend" (€)', "région.name"


def logged(request_id: str, rows: int, minutes: int = 0, version: str = "1") -> LoggedRequest:
    return LoggedRequest(
        request_id=request_id,
        timestamp=START + timedelta(minutes=minutes),
        model_name="m",
        model_version=version,
        run_id="r",
        latency_ms=1.5,
        features=[{NUMBER: float(i), CATEGORY: None} for i in range(rows)],
        predictions=[i % 2 for i in range(rows)],
        probabilities=[0.25] * rows,
    )


def write(folder: Path, *items: LoggedRequest, max_bytes: int = 1_000_000) -> None:
    writer = PredictionLogWriter(folder, max_bytes=max_bytes)
    writer.start()
    for item in items:
        writer.write(item)
    writer.close()


def test_one_line_per_row_in_the_documented_format(tmp_path: Path) -> None:
    write(tmp_path, logged("a", 2))
    [path] = tmp_path.glob("predictions-*.jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    assert first == {
        "request_id": "a",
        "row": 0,
        "timestamp": "2026-01-01T00:00:00+00:00",
        "model_name": "m",
        "model_version": "1",
        "run_id": "r",
        "latency_ms": 1.5,
        "features": {NUMBER: 0.0, CATEGORY: None},
        "prediction": 0,
        "probability": 0.25,
    }
    assert list(first) == list(FIELDS), "the fields in the documented order"


def test_reader_returns_rows_with_feature_columns(tmp_path: Path) -> None:
    write(tmp_path, logged("a", 2), logged("b", 1, minutes=1))
    frame, malformed = read_prediction_log(tmp_path)
    assert malformed == 0
    assert list(frame["request_id"]) == ["a", "a", "b"]
    assert list(frame["row"]) == [0, 1, 0]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert list(frame[NUMBER]) == [0.0, 1.0, 0.0]
    assert frame[CATEGORY].isna().all()


def test_reader_filters_by_time_and_model(tmp_path: Path) -> None:
    write(tmp_path, logged("a", 1), logged("b", 1, 10), logged("c", 1, 20, version="2"))
    window, _ = read_prediction_log(tmp_path, start=START + timedelta(minutes=5))
    assert list(window["request_id"]) == ["b", "c"]
    naive_end = (START + timedelta(minutes=20)).replace(tzinfo=None)
    window, _ = read_prediction_log(tmp_path, end=naive_end)
    assert list(window["request_id"]) == ["a", "b"]
    version, _ = read_prediction_log(tmp_path, model_name="m", model_version="2")
    assert list(version["request_id"]) == ["c"]
    assert read_prediction_log(tmp_path, model_name="other")[0].empty


def test_malformed_lines_are_counted_not_dropped_silently(tmp_path: Path) -> None:
    write(tmp_path, logged("a", 2))
    [path] = tmp_path.glob("predictions-*.jsonl")
    good = path.read_text()
    missing_key = json.dumps(
        {k: v for k, v in json.loads(good.splitlines()[0]).items() if k != "run_id"}
    )
    path.write_text(good + "not json\n" + missing_key + "\n" + '{"request_id": "cut sh')
    frame, malformed = read_prediction_log(tmp_path)
    assert len(frame) == 2
    assert malformed == 3


def test_files_rotate_by_size_and_nothing_is_lost(tmp_path: Path) -> None:
    write(tmp_path, *(logged(str(i), 5) for i in range(40)), max_bytes=2_000)
    files = sorted(tmp_path.glob("predictions-*.jsonl"))
    assert len(files) > 3
    assert all(path.stat().st_size < 2_000 + 5 * 400 for path in files)
    frame, malformed = read_prediction_log(tmp_path)
    assert (len(frame), malformed) == (200, 0)


def test_an_unwritable_folder_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match="PREDICTION_LOG_DIR"):
        PredictionLogWriter(blocker / "log", max_bytes=10_000).start()


def test_each_line_is_the_json_of_its_row_whatever_the_values(tmp_path: Path) -> None:
    texts = ["plain", 'a "quote", a comma', "100 % ünïcødé \U0001f600", "\\ and \n", None]
    rows = [
        {NUMBER: x, CATEGORY: t, "%d %b": x}
        for x, t in zip([0.1, -2, 1e-7, 3e300, None], texts, strict=True)
    ]
    item = LoggedRequest(**{**vars(logged("r%1", 5)), "features": rows})
    by_column = FeatureRows({name: [row[name] for row in rows] for name in rows[0]})
    lines = item.lines()
    assert LoggedRequest(**{**vars(item), "features": by_column}).lines() == lines
    for row, line in enumerate(lines.decode().splitlines()):
        record = json.loads(line)
        assert list(record) == list(FIELDS)
        assert (record["request_id"], record["row"], record["features"]) == ("r%1", row, rows[row])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_value_that_is_not_json_is_refused_not_written(bad: float) -> None:
    for field in ("features", "predictions", "probabilities"):
        item = logged("r1", 2)
        values = {
            "features": [{NUMBER: 1.0, CATEGORY: "a"}, {NUMBER: bad, CATEGORY: "b"}],
            "predictions": [1, bad],
            "probabilities": [0.5, bad],
        }
        with pytest.raises(ValueError, match="NaN or infinite"):
            LoggedRequest(**{**vars(item), field: values[field]}).lines()


def test_rows_with_different_features_are_refused() -> None:
    item = logged("r1", 2)
    rows = [{NUMBER: 1.0, CATEGORY: "a"}, {NUMBER: 2.0}]
    with pytest.raises(ValueError, match="different features"):
        LoggedRequest(**{**vars(item), "features": rows}).lines()


def test_empty_folder_reads_as_an_empty_frame(tmp_path: Path) -> None:
    frame, malformed = read_prediction_log(tmp_path)
    assert frame.empty
    assert malformed == 0
    assert "model_version" in frame.columns


def test_a_line_without_probability_reads_as_null(tmp_path: Path) -> None:
    line = logged("r1", 1).lines().splitlines()[0]
    record = json.loads(line)
    del record["probability"]
    (tmp_path / "predictions-h-1-0-0.jsonl").write_text(json.dumps(record) + "\n")
    frame, malformed = read_prediction_log(tmp_path)
    assert malformed == 0
    assert len(frame) == 1
    assert frame["probability"].isna().all()


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Files of this process cannot grow past `limit` bytes: writes fail with EFBIG (the kernel).

    Unlike a small disk this needs no root and no mount, so it runs everywhere the tests run
    (Python ignores SIGXFSZ, so the write fails instead of the process being stopped).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_failed_write_is_counted_logged_once_and_recovered_from(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failures: list[WriteFailure] = []
    writer = PredictionLogWriter(tmp_path, max_bytes=10_000_000, on_failure=failures.append)
    writer.start()
    try:
        writer.write(logged("before", 1))
        assert wait_for(lambda: len(read_prediction_log(tmp_path)[0]) == 1)
        with caplog.at_level(logging.WARNING), file_size_limit(64 * 1024):
            writer.write(logged("lost", 1000))  # about 200 KB: cut short by the limit
            assert wait_for(lambda: writer.failing)
            writer.write(logged("also lost", 500))  # same burst: counted, not logged again
            assert wait_for(lambda: len(failures) == 2)
            assert writer.failing, "the probe (as large as the failed write) fails too"
        assert wait_for(lambda: not writer.failing), "recovered by the probe, with no request"
        writer.write(logged("after", 2))
    finally:
        writer.close()
    assert [(f.requests, f.rows) for f in failures] == [(1, 1000), (1, 500)]
    assert {f.reason for f in failures} == {"File too large"}
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("prediction_log")]
    assert len(messages) == 2, messages
    assert "cannot write" in messages[0]
    assert "again; 1500 row(s) were dropped" in messages[1]
    frame, malformed = read_prediction_log(tmp_path)
    assert malformed == 0, "the half-written request was cut back out of the file"
    assert sorted(frame["request_id"]) == ["after", "after", "before"]


def test_a_removed_folder_is_created_again(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    failures: list[WriteFailure] = []
    writer = PredictionLogWriter(folder, max_bytes=1024, on_failure=failures.append)
    writer.start()
    try:
        writer.write(logged("first", 5))  # over max_bytes: the next request opens a new file
        assert wait_for(lambda: len(read_prediction_log(folder)[0]) == 5)
        shutil.rmtree(folder)
        writer.write(logged("lost", 1))
        assert wait_for(lambda: len(failures) == 1)
        assert wait_for(lambda: not writer.failing), "the probe made the folder again"
        writer.write(logged("after", 1))
    finally:
        writer.close()
    assert [(f.rows, f.reason) for f in failures] == [(1, "No such file or directory")]
    assert list(read_prediction_log(folder)[0]["request_id"]) == ["after"]


@contextmanager
def encoder() -> Iterator[LineEncoder]:
    started = LineEncoder()
    try:
        yield started
    finally:
        started.close()


def helper(encoding: LineEncoder) -> BaseProcess:
    assert encoding._helper is not None, "no helper process encodes large requests"
    return encoding._helper[0]


def test_a_large_request_is_encoded_by_the_helper_process_into_the_same_lines() -> None:
    small, large = logged("s", OFFLOADED_ROWS - 1), logged("l", OFFLOADED_ROWS)
    with encoder() as encoding:
        assert encoding.lines(small) == small.lines()
        assert encoding._helper is None
        assert encoding.lines(large) == large.lines()
        process = helper(encoding)
        assert process.is_alive() and process.pid != os.getpid()
        assert encoding.lines(large) == large.lines()
        assert helper(encoding) is process  # one helper for every large request
    assert not process.is_alive()  # closing the encoder stops it


def test_a_large_request_that_is_not_json_is_refused_as_in_place() -> None:
    item = logged("r1", OFFLOADED_ROWS)
    bad = LoggedRequest(**{**vars(item), "predictions": [*item.predictions[:-1], math.nan]})
    with encoder() as encoding, pytest.raises(ValueError, match="NaN or infinite"):
        encoding.lines(bad)


def test_stop_signals_are_the_server_s_and_a_dead_helper_is_replaced_by_encoding_in_place(
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = logged("r1", OFFLOADED_ROWS)
    with encoder() as encoding:
        encoding.lines(item)
        process = helper(encoding)
        assert process.pid is not None
        os.kill(process.pid, signal.SIGTERM)  # a Ctrl-C or SIGTERM to the process group
        os.kill(process.pid, signal.SIGINT)
        assert encoding.lines(item) == item.lines()
        assert helper(encoding) is process and process.is_alive()
        process.kill()  # e.g. the out-of-memory killer
        process.join()
        with caplog.at_level(logging.WARNING):
            assert encoding.lines(item) == item.lines()
        assert "encoding in the server from now on" in caplog.text
        assert encoding._helper is None
        assert encoding.lines(item) == item.lines()


def test_the_writer_writes_large_requests_whole(tmp_path: Path) -> None:
    items = [logged(f"r{i}", OFFLOADED_ROWS + i) for i in range(3)]
    write(tmp_path, *items, max_bytes=10_000_000)
    [path] = tmp_path.glob("predictions-*.jsonl")
    assert path.read_bytes() == b"".join(item.lines() for item in items)
