"""The template's documentation site: it builds strictly, its generated parts are complete,
and none of it reaches a generated project."""

import html
import os
import re
import subprocess
from pathlib import Path

import pytest

from ml_template_dev import ROOT, TEMPLATE
from ml_template_dev.getting_started import commands, readme_commands
from ml_template_dev.messages import modules, raised, user_errors
from ml_template_dev.questions import QUESTIONS, choices
from ml_template_dev.render import tree


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as `make docs-build` builds it (strict: a broken link fails)."""
    folder = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        ["mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return folder


def page(site: Path, name: str) -> str:
    """A built page's text, with HTML entities decoded."""
    return html.unescape((site / name / "index.html").read_text(encoding="utf-8"))


def test_every_error_message_is_on_the_troubleshooting_page(site: Path) -> None:
    built = (site / "troubleshooting" / "index.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", built))  # tags first: a message may say <version>
    messages = user_errors()
    assert len(messages) > 50
    assert [m.text for m in messages if f"error: {m.text}" not in text] == []


@pytest.mark.parametrize("problem_type", choices("problem_type"))
def test_every_user_error_in_the_code_is_read(problem_type: str) -> None:
    """Each `UserError(` in the code is a call whose message the reader spells out."""
    written = sum(
        source.count("UserError(") - source.count("class UserError(")
        for source in modules(problem_type).values()
    )
    assert len(raised(problem_type)) == written > 0


def test_the_questions_page_has_every_question(site: Path) -> None:
    text = page(site, "questions")
    for name, question in QUESTIONS.questions.items():
        assert f"<code>{name}</code>" in text
        assert question.help in text


def test_getting_started_has_commands_with_expected_output() -> None:
    steps = commands()
    assert steps[0].line.startswith("uvx copier copy")
    assert any(step.line.startswith("make monitor") for step in steps)
    assert all(step.line.strip() for step in steps)


def test_a_projects_readme_path_is_its_getting_started_page(default_project: Path) -> None:
    """The README's Start commands are the page's (which tests/test_getting_started.py runs);
    the page runs `make serve` in the background."""
    steps = commands(default_project / "docs" / "getting-started.md")
    assert any(step.line.startswith("make monitor") for step in steps)
    shown = {step.line.removesuffix(" > serve.log 2>&1 &") for step in steps}
    assert set(readme_commands(default_project / "README.md")) - shown == set()


def test_the_site_is_not_rendered_into_projects(default_project: Path) -> None:
    """Only {{cookiecutter.project_slug}}/ is rendered: no file of the site is in a project."""
    site_files = {path.read_bytes() for path in (ROOT / "docs").rglob("*") if path.is_file()}
    site_files.add((ROOT / "mkdocs.yml").read_bytes())
    rendered = tree(default_project)
    assert [name for name, data in rendered.items() if data in site_files] == []
    assert TEMPLATE.name not in rendered
