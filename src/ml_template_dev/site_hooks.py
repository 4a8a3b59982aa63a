"""MkDocs hooks of the template's site (mkdocs.yml `hooks`): the parts written from the sources.

A page holds a marker line `<!-- generated: NAME -->`; the build replaces it with:

- `questions`: the table of questions.yml (prompt, default, choices or rules with their messages);
  the page must also have one `### <question>` section per question, saying what the answer
  changes (the build fails on a missing or extra one);
- `messages`: every one-line error the generated project's CLI can print (ml_template_dev.messages),
  grouped by step;
- `bring-your-own-data`: the generated project's docs/bring-your-own-data.md, rendered with the
  default answers;
- `changelog`: the template's CHANGELOG.md.

So none of these can drift from the code: a change there changes the site.
"""

from __future__ import annotations

import re
from itertools import groupby
from typing import Any

from jinja2 import Environment, StrictUndefined
from mkdocs.exceptions import PluginError

from ml_template_dev import ROOT, TEMPLATE
from ml_template_dev.messages import user_errors
from ml_template_dev.questions import QUESTIONS, VERSION

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", flags=re.MULTILINE)
HOWTO = TEMPLATE / "docs" / "bring-your-own-data.md"
STEPS = {
    "cli": "Command line",
    "core": "Config, schema and model URIs (core/)",
    "features": "Features",
    "schema_infer": "schema infer",
    "io": "Data, registry and exported models (io/)",
    "training": "Training",
    "release": "The gate and promotion",
    "serving": "Serving",
    "monitoring": "Monitoring",
}


def _code(text: str) -> str:
    """A Markdown code span that may itself contain backticks."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def questions_table() -> str:
    """The questions of questions.yml as a Markdown table."""
    defaults = QUESTIONS.defaults()
    rows = ["| question | prompt | default | accepted answers |", "|---|---|---|---|"]
    for name, question in QUESTIONS.questions.items():
        default = _code(defaults[name])
        if "{{" in question.default:
            default += " (from earlier answers)"
        if question.choices:
            accepted = ", ".join(_code(choice) for choice in question.choices)
        elif question.rules:
            accepted = "<br>".join(
                "refused: " + rule.message.replace(f"{{{name}}}", "…") for rule in question.rules
            )
        else:
            accepted = "any text"
        rows.append(f"| `{name}` | {question.help} | {default} | {accepted} |")
    return "\n".join(rows)


def check_question_sections(markdown: str) -> None:
    """Fail the build unless the page has exactly one `### <name>` section per question."""
    sections = re.findall(r"^### `?([a-z_]+)`?\s*$", markdown, flags=re.MULTILINE)
    expected = list(QUESTIONS.questions)
    if sections != expected:
        missing = [name for name in expected if name not in sections]
        extra = [name for name in sections if name not in expected]
        raise PluginError(
            f"questions.md: sections must be one per question in questions.yml order "
            f"(missing: {missing}, extra: {extra}); say what each answer changes"
        )


def messages_list() -> str:
    """Every error message of the generated package, grouped by step, as Markdown."""
    lines = []
    for step, messages in groupby(user_errors(), key=lambda message: message.step):
        lines += ["", f"### {STEPS.get(step, step)}", ""]
        for message in messages:
            where = f"src/&lt;package&gt;/{message.module}"
            lines.append(f"- {_code('error: ' + message.text)} <small>({where})</small>")
    return "\n".join(lines)


def bring_your_own_data() -> str:
    """The generated how-to, rendered with the default answers."""
    answers = QUESTIONS.defaults()
    context = {"cookiecutter": {**answers, "_template_version": VERSION, "__answers": ""}}
    environment = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    return environment.from_string(HOWTO.read_text(encoding="utf-8")).render(context)


def changelog() -> str:
    """The template's CHANGELOG.md as it is."""
    return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


GENERATORS = {
    "questions": questions_table,
    "messages": messages_list,
    "bring-your-own-data": bring_your_own_data,
    "changelog": changelog,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace each marker with what it names; check the questions page's sections."""
    if page.file.src_uri == "questions.md":
        check_question_sections(markdown)

    def generate(marker: re.Match[str]) -> str:
        name = marker.group(1)
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: unknown generated part '{name}'")
        return GENERATORS[name]()

    return MARKER.sub(generate, markdown)
