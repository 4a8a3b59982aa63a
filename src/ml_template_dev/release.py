"""Template releases: the version every file states, the CHANGELOG entry, the git tags.

A release is an annotated git tag named by a bare PEP 440 version (`0.3.0`) on a commit where
`questions.yml` (and so `copier.yml` and `cookiecutter.json`), `pyproject.toml` and the newest
CHANGELOG heading all say that version (docs/maintaining.md, "Releases").

    uv run python -m ml_template_dev.release check [VERSION]   # every file agrees (with VERSION)
    uv run python -m ml_template_dev.release notes VERSION     # that release's CHANGELOG entry
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

from . import ROOT

HEADING = re.compile(r"^## (\S+)\s*$", flags=re.MULTILINE)


class ReleaseError(Exception):
    """A release that is not consistent; the message is one line with the fix."""


def changelog_versions(root: Path = ROOT) -> list[str]:
    """The CHANGELOG's release headings, newest first (`## Unreleased` is not a release)."""
    text = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    return [name for name in HEADING.findall(text) if name != "Unreleased"]


def changelog_entry(version: str, root: Path = ROOT) -> str:
    """The text under `## <version>` up to the next release heading."""
    text = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(version)}\s*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None or not match.group(1).strip():
        raise ReleaseError(f"CHANGELOG.md has no entry '## {version}': write it before tagging")
    return match.group(1).strip() + "\n"


def stated_versions(root: Path = ROOT) -> dict[str, str]:
    """The template version as each file states it."""
    questions = yaml.safe_load((root / "questions.yml").read_text(encoding="utf-8"))
    copier_default = yaml.safe_load((root / "copier.yml").read_text(encoding="utf-8"))
    computed = re.search(
        r'"_template_version": "([^"]+)"', str(copier_default["cookiecutter"]["default"])
    )
    cookiecutter = json.loads((root / "cookiecutter.json").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    newest = changelog_versions(root)
    return {
        "questions.yml": str(questions["version"]),
        "copier.yml": computed.group(1) if computed else "(none)",
        "cookiecutter.json": str(cookiecutter["_template_version"]),
        "pyproject.toml": str(pyproject["project"]["version"]),
        "CHANGELOG.md": newest[0] if newest else "(none)",
    }


def tags(root: Path = ROOT) -> list[Version]:
    """The repository's release tags (PEP 440 names only), oldest first."""
    listed = subprocess.run(
        ["git", "tag", "--list"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.split()
    versions = []
    for name in listed:
        try:
            versions.append(Version(name))
        except InvalidVersion:
            continue
    return sorted(versions)


def check(version: str | None = None, root: Path = ROOT) -> str:
    """The one version every file states (and equal to `version` if given); else ReleaseError."""
    stated = stated_versions(root)
    found = set(stated.values())
    if len(found) != 1 or (version is not None and found != {version}):
        listing = ", ".join(f"{name} {value}" for name, value in stated.items())
        wanted = version or "one version"
        raise ReleaseError(
            f"the files disagree with {wanted}: {listing}; set questions.yml and pyproject.toml, "
            "run `make engines`, head the CHANGELOG entry with it"
        )
    return found.pop()


def main(argv: list[str]) -> int:
    """`check [VERSION]` or `notes VERSION`; a ReleaseError is one line and exit 2."""
    try:
        if argv[:1] == ["check"] and len(argv) <= 2:
            print(check(argv[1] if len(argv) == 2 else None))
        elif argv[:1] == ["notes"] and len(argv) == 2:
            check(argv[1])
            print(changelog_entry(argv[1]), end="")
        else:
            raise ReleaseError("usage: python -m ml_template_dev.release check [VERSION] | notes V")
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
