"""The monitoring job end to end: a trained version, its prediction log, the `monitor` command."""

import html
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib.image
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner, Result

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.core.config import load_config
from {{ cookiecutter.package_name }}.core.schema import feature_names, target
from {{ cookiecutter.package_name }}.features import build_features, split
from {{ cookiecutter.package_name }}.io import registry
from {{ cookiecutter.package_name }}.io.prediction_log import LoggedRequest, PredictionLogWriter
from {{ cookiecutter.package_name }}.training.train import train
from tests.helpers import Webhook, assert_one_line_error, copy_project, raw_target, run_process

pytestmark = pytest.mark.slow
MODEL = "monitored"


@dataclass(frozen=True)
class Trained:
    """A registered version, and fresh rows from its training rows' distribution (labelled)."""

    model: Pipeline
    classify: bool
    fresh: pd.DataFrame
    reference_rows: int


FRESH_ROWS = 3000
NEVER_SEEN = "a category training never saw"


def _drifting() -> tuple[str | None, str | None]:
    """The features planted drift moves: the first numeric one and the first categorical one."""
    return (
        next(iter(feature_names("numeric")), None),
        next(iter(feature_names("categorical")), None),
    )


# Drift is at least the share of the features planted drift moves: those moving is drift.
DRIFT_SHARE = sum(name is not None for name in _drifting()) / len(feature_names())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    root = tmp_path_factory.mktemp("monitoring")
    copy_project(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("MONITOR_WEBHOOK_URL", raising=False)
        values = yaml.safe_load(Path("configs/smoke.yaml").read_text())
        # Up to 4,000 rows (the sample's all): a 3,000-row reference, if the data has as many.
        values["data"]["sample_rows"] = 4000
        values["registry"] = {"experiment": MODEL, "model_name": MODEL}
        values["monitoring"] = {"drift_share": DRIFT_SHARE}
        Path("configs/base.yaml").write_text(yaml.safe_dump(values, allow_unicode=True))
        config = load_config(Path("configs/base.yaml"))
        version = train(config).version
        # Fresh rows: the training rows (whose sample is the version's reference), repeated as
        # often as needed and shuffled; their labels come along.
        parts = split(build_features(config.data).frame, config)
        rows = parts.x_train.assign(**{target(): parts.y_train})
        repeated = pd.concat([rows] * math.ceil(FRESH_ROWS / len(rows)), ignore_index=True)
        fresh = repeated.sample(n=FRESH_ROWS, random_state=7, ignore_index=True)
        classify = config.problem_type == "classification"
        reference_rows = min(config.monitoring.reference_rows, len(parts.x_train))
        yield Trained(registry.load_model(version.uri), classify, fresh, reference_rows)


def configure(name: str, **monitoring: Any) -> Path:
    """A config for one test: its own log folder and output folder."""
    config = yaml.safe_load(Path("configs/base.yaml").read_text())
    config["monitoring"] = {
        **config["monitoring"],
        "log_dir": f"logs/{name}",
        "output_dir": f"reports/{name}",
        "labels_path": f"labels/{name}.csv",
        "alert_backoff_seconds": 0.01,
        **monitoring,
    }
    path = Path(f"configs/{name}.yaml")
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def log(trained: Trained, folder: Path, rows: pd.DataFrame, version: str = "1") -> None:
    """Predict each row with the version and log it as the service does, in the last hour."""
    x = rows[feature_names()]
    predictions = trained.model.predict(x)
    probabilities = trained.model.predict_proba(x)[:, 1] if trained.classify else None
    records = x.astype(object).where(x.notna(), None).to_dict("records")
    start = datetime.now(UTC) - timedelta(hours=1)
    writer = PredictionLogWriter(folder, max_bytes=1_000_000)
    writer.start()
    for i, features in enumerate(records):
        writer.write(
            LoggedRequest(
                request_id=f"{folder.name}-{i}",
                timestamp=start + timedelta(milliseconds=i),
                model_name=MODEL,
                model_version=version,
                run_id="run",
                latency_ms=1.0,
                features=[{str(name): value for name, value in features.items()}],
                predictions=[predictions[i].item()],
                probabilities=None if probabilities is None else [float(probabilities[i])],
            )
        )
    writer.close()


def planted(frame: pd.DataFrame) -> pd.DataFrame:
    """Drift: a numeric feature shifted by two standard deviations, a category never seen."""
    drifted = frame.copy()
    numeric, categorical = _drifting()
    if numeric is not None:
        values = drifted[numeric]
        drifted[numeric] = values + 2 * (values.std() or 1.0)
    if categorical is not None:
        drifted[categorical] = drifted[categorical].astype(object)
        drifted.loc[drifted.index[::3], categorical] = NEVER_SEEN
    return drifted


def drifting() -> list[str]:
    """The features `planted` moves."""
    return [name for name in _drifting() if name is not None]


def monitor(config: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    """Run the command; return its result and the JSON summary it wrote (if any)."""
    result = CliRunner().invoke(
        app, ["monitor", "--config", str(config), "--model", f"models:/{MODEL}/1", *args]
    )
    output = load_config(config).monitoring.output_dir
    summaries = sorted(output.glob("*/summary.json"))
    return result, json.loads(summaries[-1].read_text()) if summaries else {}


def test_reference_is_stored_with_the_version(trained: Trained) -> None:
    reference = registry.load_reference(registry.resolve_version(f"models:/{MODEL}/1"))
    assert list(reference.columns) == [*feature_names(), "prediction", "probability"]
    assert len(reference) == trained.reference_rows


def test_unshifted_sample_is_not_drift(trained: Trained) -> None:
    config = configure("same")
    log(trained, Path("logs/same"), trained.fresh)
    result, summary = monitor(config, "--since", "2h")
    assert result.exit_code == 0, result.output
    assert summary["verdict"] == "ok"
    assert summary["drift"]["drifted_columns"] == []
    assert summary["rows"]["window"] == 3000
    assert "verdict: ok (exit 0)" in result.stdout
    assert summary["report"] == "report.html"
    assert len(list(Path("reports/same").glob("*/report.html"))) == 1


def test_planted_drift_is_detected_and_alerted(
    trained: Trained, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configure("drift")
    log(trained, Path("logs/drift"), planted(trained.fresh))
    webhook.failures = 1
    monkeypatch.setenv("MONITOR_WEBHOOK_URL", webhook.url)
    result, summary = monitor(config, "--since", "2h")
    assert result.exit_code == 3, result.output
    assert summary["verdict"] == "drift"
    assert set(drifting()) <= set(summary["drift"]["drifted_columns"])
    assert "alert: sent (2 attempt(s))" in result.stdout
    [alert] = webhook.received
    assert alert["text"].startswith(f"Drift detected for models:/{MODEL}/1")
    assert all(name in alert["text"] for name in drifting())


def test_a_down_webhook_does_not_change_the_exit_code(
    trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configure("down", alert_attempts=2)
    log(trained, Path("logs/down"), planted(trained.fresh))
    monkeypatch.setenv("MONITOR_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    result, _ = monitor(config, "--since", "2h")
    assert result.exit_code == 3, result.output
    assert "alert: NOT delivered" in result.stdout
    assert "Traceback" not in result.output


def test_a_sample_of_a_large_window_keeps_the_verdict(trained: Trained) -> None:
    for name, rows in (("sampled-same", trained.fresh), ("sampled-drift", planted(trained.fresh))):
        config = configure(name, sample_above=1500, sample_rows=1500)
        log(trained, Path(f"logs/{name}"), rows)
        result, summary = monitor(config, "--since", "2h")
        _, full = monitor(configure(f"{name}-full", log_dir=f"logs/{name}"), "--since", "2h")
        assert (summary["rows"]["analysed"], summary["rows"]["sampled"]) == (1500, True)
        assert full["rows"]["analysed"] == 3000
        assert summary["verdict"] == full["verdict"], result.output
        assert summary["drift"]["drifted_columns"] == full["drift"]["drifted_columns"]


def test_too_few_rows_exits_4(trained: Trained) -> None:
    config = configure("few")
    log(trained, Path("logs/few"), trained.fresh.head(200))
    result, summary = monitor(config, "--since", "2h")
    assert result.exit_code == 4, result.output
    assert summary["verdict"] == "too_few_rows"
    assert summary["drift"] is None
    assert "too few rows to judge drift: 200 < monitoring.min_rows 1,000" in result.stdout


def test_rows_of_other_versions_and_malformed_lines_are_counted(trained: Trained) -> None:
    config = configure("others")
    log(trained, Path("logs/others"), trained.fresh.head(300), version="2")
    [path] = Path("logs/others").glob("*.jsonl")
    with path.open("a") as lines:
        lines.write('not json\n{"request_id": "cut sh')
    result, summary = monitor(config, "--since", "2h")
    assert result.exit_code == 4, result.output
    assert summary["rows"]["window"] == 0
    assert summary["rows"]["other_versions"] == {f"{MODEL}/2": 300}
    assert summary["rows"]["malformed_lines"] == 2
    assert "2 malformed log line(s) skipped" in result.stdout
    assert f"rows of other versions ignored ({MODEL}/2: 300)" in result.stdout


def test_an_empty_window_exits_4(trained: Trained) -> None:
    config = configure("empty")
    log(trained, Path("logs/empty"), trained.fresh.head(50))
    result, summary = monitor(config, "--from", "2020-01-01", "--to", "2020-01-02")
    assert result.exit_code == 4, result.output
    assert summary["rows"]["window"] == 0


def assert_user_error(result: Result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert_one_line_error(result.stderr, expected)


def test_a_missing_log_folder_is_a_user_error(trained: Trained) -> None:
    result, _ = monitor(configure("missing"), "--since", "2h")
    assert_user_error(result, "prediction log folder logs/missing not found")


def test_a_reference_missing_columns_is_a_user_error(
    trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = registry.load_reference(registry.resolve_version(f"models:/{MODEL}/1"))
    gone = feature_names()[:2]
    monkeypatch.setattr(registry, "load_reference", lambda _: reference.drop(columns=gone))
    result, _ = monitor(configure("old-reference"), "--since", "2h")
    expected = f"the reference sample of models:/{MODEL}/1 lacks column(s) {', '.join(gone)}"
    assert_user_error(result, expected)


def test_a_version_without_reference_is_a_user_error(
    trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "REFERENCE_ARTIFACT", "reference/none.parquet")
    result, _ = monitor(configure("no-reference"), "--since", "2h")
    assert_user_error(result, "has no reference sample")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "fortnight"], "--since 'fortnight' is not a duration"),
        (["--model", "models:/nope/1", "--since", "1h"], "model models:/nope/1 not found"),
    ],
)
def test_bad_arguments_are_user_errors(trained: Trained, args: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, ["monitor", "--config", str(configure("args")), *args])
    assert_user_error(result, expected)


def test_no_champion_yet_names_the_next_command(trained: Trained) -> None:
    config = configure("no-champion")
    values = yaml.safe_load(config.read_text())
    values["registry"]["model_name"] = "never-promoted"
    config.write_text(yaml.safe_dump(values, allow_unicode=True))
    Path("logs/no-champion").mkdir(parents=True)
    result = CliRunner().invoke(app, ["monitor", "--config", str(config), "--since", "1h"])
    assert_user_error(result, "no champion yet for never-promoted: run `make promote MODEL=")


def test_an_alias_resolves_to_its_version(trained: Trained) -> None:
    registry.set_alias(MODEL, "champion", "1")
    config = configure("alias")
    log(trained, Path("logs/alias"), trained.fresh)
    result = CliRunner().invoke(app, ["monitor", "--config", str(config), "--since", "2h"])
    assert result.exit_code == 0, result.output
    [path] = Path("reports/alias").glob("*/summary.json")
    model = json.loads(path.read_text())["model"]
    assert model["requested"] == f"models:/{MODEL}@champion"
    assert model["uri"] == f"models:/{MODEL}/1"


def test_labels_give_live_quality_and_history_is_in_the_registry(trained: Trained) -> None:
    config = configure("labels")
    log(trained, Path("logs/labels"), trained.fresh)
    given = raw_target(trained.fresh[target()][:1500].tolist())
    labels = pd.DataFrame({"request_id": [f"labels-{i}" for i in range(1500)], target(): given})
    Path("labels").mkdir(exist_ok=True)
    labels.to_csv("labels/labels.csv", index=False)
    result, summary = monitor(config, "--since", "2h")
    assert result.exit_code == 0, result.output
    quality = summary["quality"]
    assert quality["labelled_rows"] == 1500
    metrics = load_config(config).metrics
    assert [m["metric"] for m in quality["metrics"]] == metrics
    assert all(m["training"] is not None and m["live"] is not None for m in quality["metrics"])

    runs = mlflow.search_runs(
        experiment_names=[f"{MODEL}-monitoring"],
        filter_string="tags.model_version = '1' and tags.verdict = 'ok'",
        output_format="list",
    )
    latest = max(runs, key=lambda run: run.info.start_time)
    assert latest.data.tags["model_uri"] == f"models:/{MODEL}/1"
    version = mlflow.MlflowClient().get_model_version(MODEL, "1")
    assert version.tags["last_monitoring_run"] == latest.info.run_id
    assert latest.data.metrics["rows"] == 3000
    assert f"live.{metrics[0]}" in latest.data.metrics
    assert np.isfinite(latest.data.metrics["share_drifted"])


def test_no_labels_is_said(trained: Trained) -> None:
    config = configure("nolabels")
    log(trained, Path("logs/nolabels"), trained.fresh)
    result, summary = monitor(config, "--since", "2h")
    assert "live quality: no labels yet (labels/nolabels.csv not found)" in result.stdout
    assert summary["quality"]["labelled_rows"] == 0


def chromium() -> str:
    """The headless browser, or a skip (a failure where REQUIRE_CHROMIUM is set, as in CI)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    reason = "no Chromium on PATH (Debian: apt-get install chromium)"
    if os.environ.get("REQUIRE_CHROMIUM"):
        pytest.fail(reason)
    pytest.skip(reason)


def browse(page: Path, scratch: Path, *args: str) -> tuple[str, list[str]]:
    """Open a local page headless, offline; return stdout and the web URLs the page requested."""
    netlog = scratch / "netlog.json"
    done = run_process(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={scratch / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--log-net-log={netlog}",
            "--virtual-time-budget=10000",
            *args,
            page.resolve().as_uri(),
        ],
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(netlog.read_text())["events"]
    # Requests made for the page carry its site (file://) in their isolation key; the browser's
    # own background requests (updates, sign-in) do not.
    requested = [
        event["params"]["url"]
        for event in events
        if "file://" in str(event.get("params", {}).get("network_isolation_key", ""))
        and str(event["params"].get("url", "")).startswith(("http:", "https:"))
    ]
    return done.stdout, requested


def test_the_report_opens_offline_in_a_browser_and_shows_the_drift_table(
    trained: Trained, tmp_path: Path
) -> None:
    chromium()
    probe = tmp_path / "probe.html"
    probe.write_text('<img src="http://example.com/pixel.png">')
    assert browse(probe, tmp_path / "probe")[1] == ["http://example.com/pixel.png"], "detector"

    config = configure("browser")
    log(trained, Path("logs/browser"), planted(trained.fresh))
    result, _ = monitor(config, "--since", "2h")
    assert result.exit_code == 3, result.output
    [report] = Path("reports/browser").glob("*/report.html")
    dom, requested = browse(report, tmp_path / "dom", "--dump-dom")
    assert requested == [], f"the report fetched {requested}"
    methods = ["Wasserstein"] if feature_names("numeric") else []
    names = [html.escape(name, quote=False) for name in drifting()]
    for text in ("Dataset Drift", "Drifted Columns", *names, *methods):
        assert text in dom, text
    screenshot = tmp_path / "report.png"
    browse(report, tmp_path / "shot", f"--screenshot={screenshot}", "--window-size=1280,1600")
    pixels = matplotlib.image.imread(screenshot)[..., :3]
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert pixels.std() > 0.05 and colours > 50, "the screenshot is blank"
