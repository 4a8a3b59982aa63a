# ml-template: the template's own tasks. `make demo` and `make test` work on a fresh machine.
# uv: the one on PATH, else installed with pip (the binary's path is asked of the `uv` module).
UV := $(shell command -v uv 2>/dev/null || { python3 -m pip install --quiet uv >&2 && python3 -c 'import uv; print(uv.find_uv_bin())'; })
export UV
export MLFLOW_DISABLE_TELEMETRY ?= true
export DO_NOT_TRACK ?= true
# Material for MkDocs prints an end-of-life banner on every build (docs/maintaining.md).
export NO_MKDOCS_2_WARNING ?= 1
PYTEST_WORKERS ?= 2

.PHONY: help setup test test-fast demo docs docs-build screenshots bench bench-serving bench-monitoring bench-schema bench-predict lock engines lint

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

setup: ## Install the template's own locked dev environment
	$(UV) sync --locked

test: setup ## All template tests: renders, engine equivalence, answer validation, generated `make ci`
	$(UV) run --locked pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=20

test-fast: setup ## The template tests that do not install a generated project (seconds)
	$(UV) run --locked pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not slow"

demo: setup ## Render a project into a temporary folder and run its loop: train, promote, serve, replay, monitor
	$(UV) run --locked python scripts/demo.py

docs: setup ## Serve the documentation site with live reload (http://127.0.0.1:8000)
	$(UV) run --locked mkdocs serve

docs-build: setup ## Build the documentation site strictly into build/site (a broken link fails)
	$(UV) run --locked mkdocs build --strict

screenshots: setup ## Regenerate docs/images/ from a real run (headless Chromium: apt-get install -y chromium)
	$(UV) run --locked python scripts/screenshots.py

bench: setup ## Benchmarks: render, warm `uv sync --locked`, smoke training run (see benchmarks/README.md)
	$(UV) run --locked python benchmarks/run.py

bench-serving: setup ## Serving benchmark: our service vs `mlflow models serve` (needs wrk: apt-get install -y wrk)
	$(UV) run --locked python benchmarks/serving.py
bench-monitoring: setup ## Monitoring job vs plain Evidently preset on 1M logged predictions (minutes)
	$(UV) run --locked python benchmarks/monitoring.py
bench-schema: setup ## `schema infer` on a 1M-row, 50-column Parquet table vs a pandas profile
	$(UV) run --locked python benchmarks/schema_infer.py
bench-predict: setup ## Batch scoring, local and Spark, vs a plain mlflow.pyfunc script on 1M rows (Java 17+)
	$(UV) run --locked python benchmarks/batch_predict.py

lock: setup ## Regenerate the generated project's uv.lock files (one per minimum Python)
	$(UV) run --locked python scripts/lock.py

engines: setup ## Write copier.yml, cookiecutter.json and hooks/pre_gen_project.py from questions.yml
	$(UV) run --locked python scripts/generate_engines.py

lint: setup ## Ruff on the template's own Python (src, tests, scripts, benchmarks)
	$(UV) run --locked ruff check src tests scripts benchmarks
	$(UV) run --locked ruff format --check src tests scripts benchmarks
