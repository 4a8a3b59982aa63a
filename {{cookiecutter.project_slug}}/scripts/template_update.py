"""`make template-update` and `make template-check`: template releases without dependency conflicts.

`copier update` and `cruft update` merge every file three ways, but the dependency lists in
pyproject.toml and uv.lock are lines that both you (`uv add`) and the template (new pins) change:
merged as text they end in conflict markers, and a hand-made lock re-resolves the template's tested
pins. So an update here, for a project made with copier (`.copier-answers.yml`) or with cookiecutter
and cruft (`.cruft.json`):

1. renders the release you are on (the commit and answers the project records) and reads what you
   changed in its dependency lists: packages added, removed, or given another requirement;
2. sets those changes aside in a temporary commit (the lists and uv.lock as that release wrote
   them), so the merge of both files has nothing of yours to collide with;
3. lets the engine apply the new release: `copier update` (never `--trust`; conflicts elsewhere
   are marked inline) or `cruft update` (no prompt; conflicts inline or in `.rej` files);
4. applies your changes again with `uv add` / `uv remove` and runs `uv lock`, which keeps every
   version the new release locked unless one of your requirements rules it out (it then says which);
5. drops the temporary commit: your history is as before, the update is left in the working tree to
   review and commit.

Exit codes: 0 updated; 1 updated, but files hold conflict markers or `.rej` files (listed: resolve,
then commit); 2 nothing was changed (one line says why). `--check`: 0 up to date, 3 a newer release
is out, 2 an error.
"""

import argparse
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ANSWERS_FILE = Path(".copier-answers.yml")
CRUFT_FILE = Path(".cruft.json")
PYPROJECT = Path("pyproject.toml")
LOCK = Path("uv.lock")
UPDATE_AVAILABLE = 3
MARKER = re.compile(r"^(<{7}|>{7}) ", flags=re.MULTILINE)
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^gh:|^gl:|^git@")
GIT_IDENTITY = ["-c", "user.name=template-update", "-c", "user.email=template-update@localhost"]
# A dependency list: ("main", "") for [project] dependencies, ("group", name), ("extra", name).
ListKey = tuple[str, str]


class UpdateError(Exception):
    """An update that cannot start or cannot go on; the message is one line with the fix."""


@dataclass(frozen=True)
class Change:
    """One difference between your dependency list and the release's: None means absent."""

    where: ListKey
    name: str
    release: str | None
    yours: str | None


def run(command: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command in the project; a failure is an UpdateError with its last line."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise UpdateError(f"`{shlex.join(command)}` failed: {last}")
    return done


def git(*args: str, check: bool = True) -> str:
    """Git in the project."""
    return run(["git", *GIT_IDENTITY, *args], check=check).stdout


def recorded(record: dict[str, Any], where: Path, keys: tuple[str, str]) -> tuple[str, str]:
    """The template (URL or absolute path) and the release commit that a project's record holds."""
    source, release = (str(record.get(key) or "") for key in keys)
    local = Path(source.removeprefix("file://")).expanduser()
    if not REMOTE.match(source) and not local.is_absolute():
        raise UpdateError(
            f"{keys[0]} '{source[:80]}' in {where} is a relative path: set it to the "
            "template's URL or absolute path"
        )
    if not release:
        raise UpdateError(
            f"{where} has no {keys[1]}: the template was not a git repository when the project "
            "was made, so there is no release to update from"
        )
    return source, release


def first_line(error: Exception) -> str:
    """The first line of an engine's exception, or its type when it says nothing."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class Copier:
    """A project made with copier: `.copier-answers.yml` holds the release and the answers."""

    name = "copier"

    def __init__(self) -> None:
        answers = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8")) or {}
        self.source, self.release = recorded(answers, ANSWERS_FILE, ("_src_path", "_commit"))
        self.answers = {k: v for k, v in answers.items() if not k.startswith("_")}

    def render(self, folder: Path) -> Path:
        """Render the release this project is on, with its answers, into `folder`."""
        import copier

        copier.run_copy(
            self.source,
            folder / "release",
            data=self.answers,
            vcs_ref=self.release,
            defaults=True,
            unsafe=False,
            quiet=True,
        )
        return folder / "release"

    def apply(self, vcs_ref: str | None) -> None:
        """`copier update` to `vcs_ref` (default: the newest release), conflicts marked inline."""
        import copier

        copier.run_update(
            ".",
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            unsafe=False,
            conflict="inline",
            quiet=True,
        )

    def status(self) -> tuple[str, str | None]:
        """(the release this project is on, the newer release or None)."""
        done = run(["copier", "check-update", "--output-format", "json"], check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise UpdateError(f"cannot check for a newer release: {last}")
        status = json.loads(lines[-1])
        newer = str(status["latest_version"]) if status["update_available"] else None
        return str(status["current_version"]), newer


def releases(source: str) -> list[tuple[Version, str, str]]:
    """The template's release tags, oldest first: (version, tag, commit); pre-releases left out."""
    tags: dict[str, str] = {}
    for line in run(["git", "ls-remote", "--tags", source]).stdout.splitlines():
        commit, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/")
        if name.endswith("^{}") or name not in tags:  # an annotated tag's commit wins
            tags[name.removesuffix("^{}")] = commit
    found = []
    for name, commit in tags.items():
        try:
            version = Version(name)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            found.append((version, name, commit))
    if not found:
        raise UpdateError(f"the template at {source[:80]} has no release tags: pass VCS_REF=<ref>")
    return sorted(found)


class Cruft:
    """A project made with cookiecutter + cruft: `.cruft.json` holds the commit and the context."""

    name = "cruft"

    def __init__(self) -> None:
        state = json.loads(CRUFT_FILE.read_text(encoding="utf-8"))
        self.source, self.release = recorded(state, CRUFT_FILE, ("template", "commit"))
        self.directory = state.get("directory")
        context = state.get("context", {}).get("cookiecutter", {})
        self.answers = {k: v for k, v in context.items() if not k.startswith("_")}

    def render(self, folder: Path) -> Path:
        """Render the commit this project is on, with its answers, into `folder` (no prompts)."""
        import cruft

        made = cruft.create(
            self.source,
            output_dir=folder,
            checkout=self.release,
            extra_context=self.answers,
            directory=self.directory,
            no_input=True,
        )
        return Path(made)

    def apply(self, vcs_ref: str | None) -> None:
        """`cruft update` to `vcs_ref` (default: the newest release tag), without asking."""
        import cruft

        ref = vcs_ref or releases(self.source)[-1][1]
        with redirect_stdout(io.StringIO()) as said, redirect_stderr(said):
            updated = cruft.update(Path("."), checkout=ref, skip_apply_ask=True)
        if not updated:  # cruft says why in its output ("Cruft cannot apply updates ...")
            raise UpdateError((said.getvalue().strip() or "cruft update refused").splitlines()[-1])

    def status(self) -> tuple[str, str | None]:
        """(the release or commit this project is on, the newer release or None)."""
        known = releases(self.source)
        on = [tag for _, tag, commit in known if commit == self.release]
        current = on[-1] if on else f"commit {self.release[:12]}"
        _, newest, commit = known[-1]
        return current, None if commit == self.release else newest


def project_engine() -> Copier | Cruft:
    """The engine that made this project, from the file it records its release in."""
    if ANSWERS_FILE.is_file():
        return Copier()
    if CRUFT_FILE.is_file():
        return Cruft()
    raise UpdateError(
        f"neither {ANSWERS_FILE} nor {CRUFT_FILE}: this project was not made with copier or cruft, "
        "so it has no release to update from (see docs/updating.md of the template)"
    )


def requirement_lists(pyproject: dict[str, Any]) -> dict[ListKey, dict[str, str]]:
    """Every dependency list of a parsed pyproject.toml: {list: {normalised name: requirement}}."""
    project = pyproject.get("project", {})
    lists: dict[ListKey, list[Any]] = {("main", ""): project.get("dependencies", [])}
    for name, items in pyproject.get("dependency-groups", {}).items():
        lists[("group", name)] = items
    for name, items in project.get("optional-dependencies", {}).items():
        lists[("extra", name)] = items
    named: dict[ListKey, dict[str, str]] = {}
    for key, items in lists.items():
        named[key] = {}
        for item in items:
            if not isinstance(item, str):  # e.g. {include-group = "..."}: not a package
                continue
            try:
                named[key][canonicalize_name(Requirement(item).name)] = item
            except InvalidRequirement:
                raise UpdateError(
                    f"pyproject.toml: '{item[:80]}' is not a valid requirement; fix it first"
                ) from None
    return named


def dependency_changes(release: dict[str, Any], yours: dict[str, Any]) -> list[Change]:
    """What you changed in the dependency lists of the release you are on."""
    before, after = requirement_lists(release), requirement_lists(yours)
    changes = []
    for key in before.keys() | after.keys():
        old, new = before.get(key, {}), after.get(key, {})
        for name in sorted(old.keys() | new.keys()):
            if old.get(name) != new.get(name):
                changes.append(Change(key, name, old.get(name), new.get(name)))
    return changes


def uv_list_options(key: ListKey) -> list[str]:
    """`uv add`/`uv remove` options that address one dependency list."""
    kind, name = key
    return [] if kind == "main" else ["--group", name] if kind == "group" else ["--optional", name]


def replace_requirement(current: str, wanted: str) -> None:
    """Swap one requirement string for another in pyproject.toml, keeping every other byte."""
    text = PYPROJECT.read_text(encoding="utf-8")
    quoted = json.dumps(current)
    if text.count(quoted) != 1:
        raise UpdateError(f"pyproject.toml: cannot find {quoted} once; resolve it by hand")
    PYPROJECT.write_text(text.replace(quoted, json.dumps(wanted)), encoding="utf-8")


def set_requirement(change: Change, current: str | None, wanted: str | None, uv: list[str]) -> None:
    """Turn `change`'s package in its list from `current` into `wanted` (None: absent)."""
    options = uv_list_options(change.where)
    if wanted is None:
        run([*uv, "remove", "--frozen", "--quiet", *options, change.name])
    elif current is None:
        run([*uv, "add", "--frozen", "--quiet", "--raw", *options, wanted])
    else:
        replace_requirement(current, wanted)


def set_aside(changes: list[Change], uv: list[str]) -> None:
    """Make the dependency lists what the release wrote (your other edits stay)."""
    for change in changes:
        set_requirement(change, change.yours, change.release, uv)


def reapply(changes: list[Change], updated: dict[str, Any], uv: list[str]) -> list[str]:
    """Apply your changes to the new release's lists; return notes on what was kept instead."""
    notes = []
    lists = requirement_lists(updated)
    for change in changes:
        now = lists.get(change.where, {}).get(change.name)
        if now != change.release:  # the release changed this package too: its line wins
            notes.append(
                f"{change.name}: you had {change.yours or 'removed it'}, the new release has "
                f"{now or 'dropped it'}; kept the release's (change it again if you need to)"
            )
        else:
            set_requirement(change, change.release, change.yours, uv)
    return notes


def locked_versions() -> dict[str, str]:
    """{package: version} of uv.lock."""
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    return {item["name"]: str(item.get("version")) for item in lock.get("package", [])}


def conflicted_files() -> list[str]:
    """Changed or new files that hold conflict markers, and copier's `.rej` files."""
    found = []
    for line in git("status", "--porcelain", "--untracked-files=all", "-z").split("\0"):
        path = Path(line[3:]) if len(line) > 3 else None
        if path is None or not path.is_file():
            continue
        if path.suffix == ".rej":
            found.append(str(path))
            continue
        try:
            if MARKER.search(path.read_text(encoding="utf-8")):
                found.append(str(path))
        except (UnicodeDecodeError, OSError):
            continue
    return sorted(found)


@contextmanager
def release_render(project: Copier | Cruft) -> Iterator[Path]:
    """The release this project is on, rendered with its answers into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="template-update-"))
    try:
        try:
            release = project.render(folder)
        except Exception as error:  # the engines raise many types for a template they cannot read
            raise UpdateError(
                f"cannot render the release {project.release[:40]}: {first_line(error)}"
            ) from None
        yield release
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_ready() -> None:
    """A git repository with nothing uncommitted: the update must be reviewable and undoable."""
    if run(["git", "rev-parse", "--git-dir"], check=False).returncode != 0:
        raise UpdateError(
            "not a git repository: run `git init && git add -A && git commit -m 'Project'` first"
        )
    if git("status", "--porcelain"):
        raise UpdateError("uncommitted changes: commit or stash them first (`git status`)")


def update(vcs_ref: str | None, uv: list[str]) -> int:
    """The whole update (steps in the module docstring); returns the exit code."""
    check_ready()
    project = project_engine()
    start = git("rev-parse", "HEAD").strip()
    with release_render(project) as release:
        changes = dependency_changes(
            tomllib.loads((release / PYPROJECT).read_text(encoding="utf-8")),
            tomllib.loads(PYPROJECT.read_text(encoding="utf-8")),
        )
        if changes:
            set_aside(changes, uv)
            shutil.copy2(release / LOCK, LOCK)
            git("commit", "--quiet", "--no-verify", "-am", "template-update: set aside (temporary)")
    try:
        project.apply(vcs_ref)
    except Exception as error:
        git("reset", "--hard", "--quiet", start)
        git("clean", "-fdq")
        raise UpdateError(
            f"{project.name} update failed, nothing changed: {first_line(error)}"
        ) from None
    finally:
        if changes and git("rev-parse", "HEAD").strip() != start:
            git("reset", "--mixed", "--quiet", start)
    conflicted = conflicted_files()
    if changes and PYPROJECT.as_posix() in conflicted:
        wanted = [c.yours for c in changes if c.yours]
        print(
            "pyproject.toml has conflicts: resolve them, then re-add your dependencies with "
            f"`uv add {shlex.join(wanted)}` and run `uv lock`",
            file=sys.stderr,
        )
    elif changes:
        pinned = locked_versions()
        for note in reapply(changes, tomllib.loads(PYPROJECT.read_text(encoding="utf-8")), uv):
            print(note)
        run([*uv, "lock", "--quiet"])
        moved = {
            name: (version, now)
            for name, now in locked_versions().items()
            if (version := pinned.get(name)) not in (None, now)
        }
        for name, (version, now) in sorted(moved.items()):
            print(f"{name}: the release locked {version}, your requirements need {now}")
        print(f"kept your {len(changes)} dependency change(s); uv.lock keeps the release's pins")
    if conflicted:
        print("conflicts to resolve before committing:", file=sys.stderr)
        for name in conflicted:
            print(f"  {name}", file=sys.stderr)
        return 1
    print("updated: review with `git diff`, run `make ci`, then commit")
    return 0


def check() -> int:
    """0 up to date, UPDATE_AVAILABLE when a newer release exists, 2 on an error (one line)."""
    current, newer = project_engine().status()
    if newer:
        print(f"release {newer} is out; this project is on {current}: `make template-update`")
        return UPDATE_AVAILABLE
    print(f"up to date with release {current}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, update or check, and turn an UpdateError into one line and exit 2."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only say if a newer release exists")
    parser.add_argument("--vcs-ref", help="the release to update to (default: the newest)")
    parser.add_argument("--uv", default=os.environ.get("UV", "uv"), help="how to run uv")
    options = parser.parse_args(argv)
    try:
        return check() if options.check else update(options.vcs_ref, shlex.split(options.uv))
    except UpdateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
