"""Regenerate the generated project's committed metrics baselines (maintainers only).

    uv run python scripts/baselines.py

For each problem type it renders a project with default answers, installs it, runs `make smoke`
and stores the candidate metrics as the template's `metrics/baseline.json` for that problem type
(the project slug replaced by its template variable). Run it after any change that moves the
smoke run's metrics or data fingerprint (model, features, sample data, pinned libraries), review
the diff, and commit it: the gate in every generated project compares against these numbers.
"""

import os
import subprocess
import tempfile
from pathlib import Path

from ml_template_dev import ROOT, TEMPLATE
from ml_template_dev.questions import choices
from ml_template_dev.render import render_copier

DEFAULT_SLUG = "my-ml-project"


def baseline_path(problem_type: str) -> Path:
    """The template file holding the baseline for one problem type."""
    name = f"{{% if cookiecutter.problem_type == '{problem_type}' %}}baseline.json{{% endif %}}"
    return TEMPLATE / "metrics" / name


def regenerate(problem_type: str, workdir: Path) -> None:
    """Render, run the smoke training, store its metrics as the template's baseline."""
    target = workdir / problem_type
    render_copier(target, {"problem_type": problem_type})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    subprocess.run(["make", "setup", "smoke"], cwd=target, env=env, check=True)
    text = (target / "metrics" / "candidate.json").read_text()
    stored = baseline_path(problem_type)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(text.replace(DEFAULT_SLUG, "{{ cookiecutter.project_slug }}"))
    print(f"baseline for {problem_type} -> {stored.relative_to(ROOT)}")


def main() -> None:
    """Regenerate the baseline of every problem type."""
    with tempfile.TemporaryDirectory() as workdir:
        for problem_type in choices("problem_type"):
            regenerate(problem_type, Path(workdir))


if __name__ == "__main__":
    main()
