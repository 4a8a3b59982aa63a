"""Updating a project made from an older template release, with copier and with cruft (slow).

The releases are built in a temporary repository (tags in the clone CI makes are not relied on):
`0.2.0` is the template as it is now; `0.1.0` is the same with a few deliberate differences, so
the update has something to add, change and remove — among them its dependencies: 0.2.0 adds one
and raises a pin, with its own lock, as a real release does.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import copier
import cruft
import pytest
import yaml

from ml_template_dev import ROOT, UV
from ml_template_dev.render import ANSWERS_FILE, tree

pytestmark = pytest.mark.slow

OLD, NEW = "0.1.0", "0.2.0"
PROJECT = "{{cookiecutter.project_slug}}"
INTRO_OLD = "with a feature pipeline,"
INTRO_NEW = "with a tested feature pipeline,"
CONFIG_OLD, CONFIG_NEW = "# Training run.", "# Full training run."
# Outputs of running the project, not part of what the template or the user wrote.
GENERATED = re.compile(
    r"^(\.git|\.venv|mlartifacts|data/features)/|^(mlflow\.db.*|metrics/candidate\.json|"
    r"metrics/gate\.md)$|(^|/)(__pycache__|\.mypy_cache|\.pytest_cache|\.ruff_cache)/"
)
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
# What 0.2.0 changes in the dependencies of 0.1.0: (as in 0.2.0, as in 0.1.0).
DEPENDENCY_CHANGES = [('    "threadpoolctl>=3.5",\n', ""), ('"typer>=0.15"', '"typer>=0.12"')]
TEMPLATE_SLUG, DEFAULT_SLUG = "{{ cookiecutter.project_slug }}", "my-ml-project"
LOCK_311 = "{% if cookiecutter.python_min == '3.11' %}uv.lock{% endif %}"
# A user's own dependencies: one for the package, one for the dev group (`uv add`).
USER_DEPENDENCIES = [("cachetools>=5", []), ("types-cachetools>=5", ["--group", "dev"])]
CRUFT_FILE = ".cruft.json"
ENGINES = ["copier", "cruft"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "--no-verify", "-qm", message)


def copy_working_tree(repo: Path) -> None:
    """Copy the template's tracked and new files, as they are now, into `repo`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in listed.split("\0"):
        if name and (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)


def _make_old(repo: Path) -> None:
    """Turn the current template into the older release: what the update will change back."""
    readme = repo / PROJECT / "README.md"
    readme.write_text(readme.read_text().replace(INTRO_NEW, INTRO_OLD))
    makefile = repo / PROJECT / "Makefile"
    makefile.write_text(
        makefile.read_text().replace("help: ## List the targets", "help: ## Targets")
    )
    (repo / PROJECT / "tests" / "release" / "test_gate.py").unlink()
    (repo / PROJECT / "NOTES.md").write_text("Notes that the next release drops.\n")
    v1 = repo / PROJECT / "configs" / "v1.yaml"  # a file the user owns: no update touches it
    v1.write_text(v1.read_text().replace(CONFIG_NEW, CONFIG_OLD))
    pyproject = repo / PROJECT / "pyproject.toml"
    text = pyproject.read_text()
    for new, old in DEPENDENCY_CHANGES:
        assert text.count(new) == 1, new
        text = text.replace(new, old)
    pyproject.write_text(text)


def _relock(repo: Path) -> None:
    """Write the lock of the release at HEAD for its pyproject.toml, as `make lock` does."""
    with tempfile.TemporaryDirectory() as workdir:
        project = Path(workdir) / "project"
        copier.run_copy(str(repo), project, defaults=True, unsafe=False, vcs_ref="HEAD", quiet=True)
        subprocess.run([*UV, "lock", "--quiet"], cwd=project, check=True)
        lock = (project / "uv.lock").read_text()
    stored = repo / PROJECT / LOCK_311
    stored.write_text(lock.replace(f'name = "{DEFAULT_SLUG}"', f'name = "{TEMPLATE_SLUG}"'))


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository with tags 0.1.0 (older) and 0.2.0 (the working tree)."""
    repo = tmp_path_factory.mktemp("releases") / "ml-template"
    repo.mkdir()
    git(repo, "init", "-q")
    copy_working_tree(repo)
    _make_old(repo)
    commit_all(repo, "older release")
    _relock(repo)
    commit_all(repo, "older release: its lock")
    git(repo, "tag", OLD)
    (repo / PROJECT / "NOTES.md").unlink()
    copy_working_tree(repo)
    commit_all(repo, "current release")
    git(repo, "tag", NEW)
    return repo


def copy_release(repo: Path, destination: Path, ref: str, **answers: str) -> Path:
    copier.run_copy(
        str(repo), destination, data=answers, defaults=True, unsafe=False, vcs_ref=ref, quiet=True
    )
    git(destination, "init", "-q")
    commit_all(destination, f"render {ref}")
    return destination


@pytest.fixture
def cookiecutter_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cookiecutter settings of the test's own (cruft reads them; projects' make runs inherit)."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        yaml.safe_dump(
            {"cookiecutters_dir": str(tmp_path / "cc"), "replay_dir": str(tmp_path / "replay")}
        )
    )
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))
    return config


def create_release(engine: str, repo: Path, destination: Path, ref: str) -> Path:
    """A project at release `ref`, made as a team would with `engine`, committed."""
    if engine == "copier":
        return copy_release(repo, destination, ref)
    project = cruft.create(str(repo), output_dir=destination, checkout=ref)
    git(project, "init", "-q")
    commit_all(project, f"cruft create {ref}")
    return project


def recorded_release(project: Path) -> str:
    """The release an update left recorded: copier's `_commit`, or cruft's `checkout`."""
    if (project / CRUFT_FILE).is_file():
        return str(json.loads((project / CRUFT_FILE).read_text())["checkout"])
    return str(yaml.safe_load((project / ANSWERS_FILE).read_text())["_commit"])


def update(project: Path, ref: str = NEW, **answers: str) -> None:
    copier.run_update(
        project,
        data=answers,
        defaults=True,
        overwrite=True,
        unsafe=False,
        vcs_ref=ref,
        conflict="inline",
        quiet=True,
    )


def project_env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MLFLOW_"))}
    return {**env, "UV_PROJECT_ENVIRONMENT": str(project / ".venv"), "UV": " ".join(UV)}


def make(project: Path, *targets: str, check: bool = True) -> int:
    done = subprocess.run(["make", *targets], cwd=project, env=project_env(project), check=False)
    assert not check or done.returncode == 0, f"make {' '.join(targets)} failed"
    return done.returncode


def user_edits(project: Path) -> set[str]:
    """Typical edits: a config value, a new module, a README section, a dependency."""
    v1 = project / "configs" / "v1.yaml"
    v1.write_text(v1.read_text().replace("max_iter: 200", "max_iter: 150"))
    module = project / "src" / "my_ml_project" / "custom_features.py"
    module.write_text(
        '"""Team-specific feature helpers."""\n\n\n'
        "def spend_band(monthly_spend: float) -> str:\n"
        '    """Coarse spend band for reports."""\n'
        '    return "high" if monthly_spend >= 50 else "low"\n'
    )
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Team notes\n\nOn-call rota: see the wiki.\n")
    for requirement, options in USER_DEPENDENCIES:
        subprocess.run(
            [*UV, "add", "--quiet", "--no-sync", *options, requirement],
            cwd=project,
            env=project_env(project),
            check=True,
        )
    return {
        "configs/v1.yaml",
        "src/my_ml_project/custom_features.py",
        "README.md",
        "pyproject.toml",
        "uv.lock",
    }


def written(project: Path) -> dict[str, bytes]:
    """What the template and the user wrote, without run outputs or the engines' answers files."""
    return {
        name: content
        for name, content in tree(project).items()
        if not GENERATED.search(name) and name not in (ANSWERS_FILE, CRUFT_FILE)
    }


def check_update(project: Path) -> int:
    """The exit code of the check behind `make template-check` (make itself only fails with 2)."""
    command = [*UV, "run", "--locked", "python", "scripts/template_update.py", "--check"]
    return subprocess.run(command, cwd=project, env=project_env(project), check=False).returncode


def locked(project: Path) -> dict[str, str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {package["name"]: package.get("version", "") for package in lock["package"]}


@pytest.mark.parametrize("engine", ENGINES)
def test_template_update_keeps_user_edits_and_dependencies_and_the_release_pins(
    releases: Path, tmp_path: Path, cookiecutter_config: Path, engine: str
) -> None:
    project = create_release(engine, releases, tmp_path / "project", OLD)
    edited = user_edits(project)
    commit_all(project, "user edits")
    make(project, "setup")
    assert (project / ".git" / "hooks" / "pre-commit").is_file(), "make setup installs the hook"
    assert check_update(project) == 3, "0.2.0 is newer than 0.1.0"

    assert make(project, "template-update", check=False) == 0

    files = written(project)
    assert not [n for n, c in files.items() if b"<<<<<<<" in c], "no conflict markers anywhere"
    assert "max_iter: 150" in (project / "configs" / "v1.yaml").read_text()
    assert (project / "src" / "my_ml_project" / "custom_features.py").is_file()
    readme = (project / "README.md").read_text()
    assert "## Team notes" in readme and INTRO_NEW in readme
    pyproject = (project / "pyproject.toml").read_text()
    for requirement, _ in USER_DEPENDENCIES:
        assert f'"{requirement}"' in pyproject, "the user's dependencies stay"
    for new, _ in DEPENDENCY_CHANGES:
        assert new in pyproject, "the release's dependency changes arrive"
    env = project_env(project)
    subprocess.run([*UV, "lock", "--check"], cwd=project, env=env, check=True)
    fresh_project = copy_release(releases, tmp_path / "fresh", NEW)
    release_pins, ours = locked(fresh_project), locked(project)
    moved = {n: (v, ours[n]) for n, v in release_pins.items() if n in ours and ours[n] != v}
    assert moved == {}, "every version the release locked is kept"
    assert {"cachetools", "types-cachetools"} <= ours.keys()
    added = project / "tests" / "release" / "test_gate.py"
    assert added.is_file(), "files the release adds appear"
    assert not (project / "NOTES.md").exists(), "files the release drops disappear"
    assert recorded_release(project) == NEW
    assert git(project, "log", "--format=%s", "-1").strip() == "user edits", "history untouched"

    commit_all(project, "update to 0.2.0")
    make(project, "setup", "ci")  # a second run reading nothing the first left: the own-table test
    assert make(project, "template-check", check=False) == 0
    assert check_update(project) == 0

    fresh = written(fresh_project)
    differing = {n for n in files.keys() | fresh.keys() if files.get(n) != fresh.get(n)}
    assert differing == edited


def test_changing_an_answer_on_update_adds_and_removes_files(
    releases: Path, tmp_path: Path
) -> None:
    project = copy_release(releases, tmp_path / "project", NEW)
    assert (project / ".github/workflows/ci.yml").is_file()
    update(project, ci="none")
    assert not (project / ".github/workflows/ci.yml").exists()
    assert not (project / ".gitlab-ci.yml").exists()
    commit_all(project, "no CI")
    update(project, ci="gitlab")
    assert (project / ".gitlab-ci.yml").is_file()
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["ci"] == "gitlab"


def test_a_real_conflict_fails_the_update_and_pre_commit_refuses_it(
    releases: Path, tmp_path: Path
) -> None:
    project = copy_release(releases, tmp_path / "project", OLD)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace(INTRO_OLD, "with a hand-tuned pipeline,"))
    commit_all(project, "user rewrites the intro")
    make(project, "setup")
    env = project_env(project)
    done = subprocess.run(
        ["make", "template-update"], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0, "a conflict left in a file fails the target"
    assert "conflicts to resolve before committing:\n  README.md" in done.stderr
    assert "<<<<<<<" in readme.read_text()

    git(project, "add", "-A")
    refused = subprocess.run(
        [*GIT, "commit", "-qm", "resolve later"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0, "the hook that make setup installed refuses the markers"
    assert "merge conflict markers" in refused.stdout + refused.stderr


def test_template_update_refuses_to_start_in_one_line(releases: Path, tmp_path: Path) -> None:
    project = copy_release(releases, tmp_path / "project", OLD)
    env = project_env(project)
    script = [sys.executable, "scripts/template_update.py"]  # refusals need no project env
    (project / "scratch.txt").write_text("not committed\n")
    dirty = subprocess.run(script, cwd=project, env=env, capture_output=True, text=True)
    assert (dirty.returncode, dirty.stderr.count("\n")) == (2, 1)
    assert "uncommitted changes: commit or stash them first" in dirty.stderr
    (project / "scratch.txt").unlink()
    answers = project / ANSWERS_FILE
    answers.write_text(answers.read_text().replace(str(releases), "../ml-template"))
    commit_all(project, "answers with a relative template path")
    relative = subprocess.run(script, cwd=project, env=env, capture_output=True, text=True)
    assert (relative.returncode, relative.stderr.count("\n")) == (2, 1)
    assert "is a relative path: set it to the template's URL or absolute path" in relative.stderr


def test_cruft_template_update_skips_the_files_the_user_owns_and_fails_on_a_conflict(
    releases: Path, tmp_path: Path, cookiecutter_config: Path
) -> None:
    project = create_release("cruft", releases, tmp_path / "out", OLD)
    readme = project / "README.md"
    readme.write_text(
        readme.read_text().replace(INTRO_OLD, "with a hand-tuned pipeline,") + "\n## Team notes\n"
    )
    (project / "src" / "my_ml_project" / "custom_features.py").write_text('"""Ours."""\n')
    v1 = project / "configs" / "v1.yaml"
    v1.write_text(v1.read_text().replace("max_iter: 200", "max_iter: 150"))
    commit_all(project, "user edits")

    # No dependency changes, so no uv: the template's own environment has copier and cruft.
    script = [sys.executable, "scripts/template_update.py"]
    done = subprocess.run(script, cwd=project, capture_output=True, text=True, check=False)

    assert done.returncode == 1, "a conflict left in a file fails the update"
    assert "conflicts to resolve before committing:\n  README.md\n" in done.stderr
    assert recorded_release(project) == NEW, "the newest release tag, as copier picks it"
    assert (project / "src" / "my_ml_project" / "custom_features.py").is_file()
    assert (project / "tests" / "release" / "test_gate.py").is_file()
    assert not (project / "NOTES.md").exists()
    assert not list(project.rglob("*.rej"))
    assert v1.read_text().startswith(CONFIG_OLD), "[tool.cruft] skip: the user's file stays"
    assert "max_iter: 150" in v1.read_text()
    text = readme.read_text()
    assert "## Team notes" in text and "<<<<<<<" in text, "the same lines changed: marked"


def test_cruft_skips_what_copier_skips() -> None:
    copier_skip = yaml.safe_load((ROOT / "copier.yml").read_text())["_skip_if_exists"]
    text = (ROOT / PROJECT / "pyproject.toml").read_text()  # Jinja elsewhere: read one table
    table = re.search(r"^\[tool\.cruft\]\n(.*?)(?=^\[)", text, flags=re.MULTILINE | re.DOTALL)
    assert table is not None
    assert tomllib.loads(table.group(1))["skip"] == copier_skip


def test_no_release_uses_a_feature_that_needs_trust(releases: Path) -> None:
    unsafe = re.compile(r"^\s*_(tasks|migrations|jinja_extensions)\s*:", flags=re.MULTILINE)
    tags = git(releases, "tag").split() + git(ROOT, "tag").split()
    assert {OLD, NEW} <= set(tags)
    for tag in tags:
        source = releases if tag in (OLD, NEW) else ROOT
        assert not unsafe.search(git(source, "show", f"{tag}:copier.yml")), tag


# The last commit with the flat package (before the package was grouped into core/, io/ and steps).
FLAT_LAYOUT = "312f036a90c955b35e64461d161b033aa83fde9c"
MODULE_EDIT = ('SimpleImputer(strategy="median")', 'SimpleImputer(strategy="mean")')


def test_update_across_the_layout_move_keeps_an_edit_of_a_moved_module(tmp_path: Path) -> None:
    """What a user sees when an update moves a module they edited, and the recipe that follows.

    copier deletes the old module (its edit stays in git history) and writes the new one from the
    template; `docs/updating.md` gives the commands that replay the edit onto the moved module.
    """
    repo = tmp_path / "ml-template"
    repo.mkdir()
    git(repo, "init", "-q")
    archive = subprocess.run(
        ["git", "archive", FLAT_LAYOUT], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    commit_all(repo, "flat layout")
    git(repo, "tag", "0.1.0")
    git(repo, "rm", "-rq", ".")
    copy_working_tree(repo)
    commit_all(repo, "grouped layout")
    git(repo, "tag", "0.2.0")

    project = copy_release(repo, tmp_path / "project", "0.1.0")
    render_commit = git(project, "rev-parse", "HEAD").strip()
    old = project / "src" / "my_ml_project" / "estimators.py"
    old.write_text(old.read_text().replace(*MODULE_EDIT))
    commit_all(project, "user imputes numbers with the mean")

    update(project, "0.2.0")
    commit_all(project, "update to 0.2.0")

    moved = project / "src" / "my_ml_project" / "core" / "estimators.py"
    assert not old.exists(), "the old module is gone"
    assert MODULE_EDIT[0] in moved.read_text(), "the moved module comes from the template"
    assert MODULE_EDIT[1] in git(project, "show", "HEAD~1:src/my_ml_project/estimators.py")

    # The recipe in docs/updating.md: replay your edits of the old path onto the new one.
    edits = git(project, "diff", render_commit, "HEAD~1", "--", "src/my_ml_project/estimators.py")
    patch = edits.replace("src/my_ml_project/estimators.py", "src/my_ml_project/core/estimators.py")
    subprocess.run([*GIT, "apply", "-3"], cwd=project, input=patch, text=True, check=True)
    assert MODULE_EDIT[1] in moved.read_text()
    assert "<<<<<<<" not in moved.read_text()


# The releases made before tags were pushed: the commit each CHANGELOG entry describes. The tags
# `0.1.0` and `0.2.0` name the same commits; a clone without tags still runs this test.
TAGGED_RELEASES = {
    "0.1.0": "72043ba57eb891c81d45480c0126a5927c1378c9",
    "0.2.0": "46494add39d9b9dce50f996d822d2d4394811f5b",
}
USER_OWNED = re.compile(r"^(configs/|data/sample/|metrics/baseline\.json$|notebooks/)")


def _release_history(repo: Path) -> None:
    """A repository holding each past release, tagged, then the working tree as `newest`."""
    repo.mkdir()
    git(repo, "init", "-q")
    for tag, commit in TAGGED_RELEASES.items():
        git(repo, "rm", "-rqf", "--ignore-unmatch", ".")
        archive = subprocess.run(
            ["git", "archive", commit], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
        commit_all(repo, f"release {tag}")
        git(repo, "tag", "-a", tag, "-m", f"ml-template {tag}")
    git(repo, "rm", "-rqf", ".")
    copy_working_tree(repo)
    commit_all(repo, "newest")
    git(repo, "tag", "-a", "99.0.0", "-m", "the working tree as the newest release")


def test_both_engines_update_from_the_oldest_release_to_the_newest(
    tmp_path: Path, cookiecutter_config: Path
) -> None:
    """No conflict, nothing of the template left behind: the result is a fresh render of the
    newest release, except the files a project owns (its configs, data, baseline, notebooks),
    which an update never touches (the CHANGELOG's manual steps cover them)."""
    repo = tmp_path / "ml-template"
    _release_history(repo)
    oldest = next(iter(TAGGED_RELEASES))
    fresh = written(copy_release(repo, tmp_path / "fresh", "99.0.0"))

    project = copy_release(repo, tmp_path / "copier", oldest)
    update(project, "99.0.0")
    files = written(project)
    assert not [n for n, c in files.items() if b"<<<<<<<" in c]
    differing = {n for n in files.keys() | fresh.keys() if files.get(n) != fresh.get(n)}
    assert {n for n in differing if not USER_OWNED.search(n)} == set()

    made = create_release("cruft", repo, tmp_path / "out", oldest)
    assert cruft.update(made, checkout="99.0.0", skip_apply_ask=True)
    crufted = {n: c for n, c in written(made).items() if n != ".cruft.json"}
    assert not [n for n, c in crufted.items() if b"<<<<<<<" in c]
    assert not list(made.rglob("*.rej"))
    differing = {n for n in crufted.keys() | fresh.keys() if crufted.get(n) != fresh.get(n)}
    assert {n for n in differing if not USER_OWNED.search(n)} == set()
