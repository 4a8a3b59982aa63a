"""Send the sample table's rows to a running prediction service, as traffic to monitor.

    uv run --locked python <template>/scripts/replay_sample.py URL [CONFIG]   (in a project)

Runs in the generated project's environment (pandas, its package). The request fields are the
service's own (`Record` in its /openapi.json); their values come from the raw table of CONFIG
(default configs/v1.yaml), and from its feature table (`make features`) for any field that is not
a raw column, joined on the schema's id. Prints the number of rows sent. Used by `make demo`
until the project has a replay target of its own.
"""

import json
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import yaml

BATCH = 200


def main() -> None:
    """Post the rows in batches and report how many the service scored."""
    url = sys.argv[1].rstrip("/")
    config = yaml.safe_load(
        Path(sys.argv[2] if len(sys.argv) > 2 else "configs/v1.yaml").read_text()
    )
    schema = yaml.safe_load(next(Path("src").glob("*/core/schema.yaml")).read_text())
    with urllib.request.urlopen(f"{url}/openapi.json") as response:
        fields = list(json.load(response)["components"]["schemas"]["Record"]["properties"])
    table = pd.read_csv(config["data"]["raw_path"])
    missing = [field for field in fields if field not in table.columns]
    if missing:
        features = pd.read_parquet(Path(config["data"]["features_dir"]) / "features.parquet")
        key = schema["id"]
        table = table.merge(features[[key, *missing]], on=key, how="inner")
    rows = json.loads(table[fields].to_json(orient="records"))
    for start in range(0, len(rows), BATCH):
        body = json.dumps({"records": rows[start : start + BATCH]}).encode()
        request = urllib.request.Request(
            f"{url}/predict", body, {"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request).read()
    print(f"sent {len(rows)} rows to {url}/predict in batches of {BATCH}")


if __name__ == "__main__":
    main()
