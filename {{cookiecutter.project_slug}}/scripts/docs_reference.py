"""The docs' reference tables, written from the code at build time (an MkDocs hook).

A page holds a marker such as `<!-- reference: config -->`; the build replaces it with the table
made from the code that defines it: the config models (core/config.py), the service settings
(serving/settings.py) and the other variables the code reads, the service's OpenAPI document,
and the exit codes. So the tables cannot drift from the code. `python scripts/docs_reference.py`
prints every table.
"""

import re
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from {{ cookiecutter.package_name }}.core import logs
from {{ cookiecutter.package_name }}.core.config import ProjectConfig
from {{ cookiecutter.package_name }}.monitoring.alerts import WEBHOOK_ENV
from {{ cookiecutter.package_name }}.monitoring.summary import EXIT_CODES
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.settings import SECRETS_DIR, SECRETS_DIR_ENV, ServiceSettings

MARKER = re.compile(r"<!-- reference: ([a-z-]+) -->")


def _cell(text: object) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(annotation: Any) -> str:
    """A field's type as a reader says it: `int`, `list[str]`, `date or none`."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    if typing.get_origin(annotation) is typing.Annotated:  # constraints: the field's checks
        return _type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        parts = [_type(a) for a in typing.get_args(annotation)]
        return " or ".join("none" if p == "NoneType" else p for p in parts)
    if typing.get_origin(annotation) is typing.Literal:
        return " / ".join(f"`{a}`" for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:  # e.g. text of a given form
        base, *constraints = typing.get_args(annotation)
        patterns = [f"`{c.pattern}`" for c in constraints if getattr(c, "pattern", None)]
        return " ".join([_type(base), *(f"matching {p}" for p in patterns)])
    return re.sub(r"\b(?:\w+\.)+(\w+)", r"\1", str(annotation))  # dotted names: their last part


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    factory = field.default_factory
    value = field.default if factory is None else factory()  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "see below"
    return "—" if value is None or value is PydanticUndefined else f"`{value}`"


def _model(annotation: Any) -> type[BaseModel] | None:
    """The config model a section's annotation names (`Model` or `Model | None`), if any."""
    for part in (annotation, *typing.get_args(annotation)):
        if isinstance(part, type) and issubclass(part, BaseModel):
            return part
    return None


def _model_rows(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    sections: list[tuple[str, type[BaseModel], FieldInfo]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        section = _model(annotation)
        if section is not None and typing.get_origin(annotation) is not dict:
            sections.append((key, section, field))
            continue
        cells = [_type(annotation), _default(field), field.description or ""]
        yield f"| `{key}` | " + " | ".join(_cell(c) for c in cells) + " |"
        if typing.get_origin(annotation) is dict:  # e.g. gate.rules.<metric>: a model per key
            entry = _model(typing.get_args(annotation)[1])
            if entry is not None:
                yield from _model_rows(entry, f"{key}.<name>.")
    for key, section, field in sections:
        doc = (section.__doc__ or "").strip().splitlines()[0] if section.__doc__ else ""
        yield f"| `{key}` | section | | {_cell(field.description or doc)} |"
        yield from _model_rows(section, f"{key}.")


def config_table() -> str:
    """Every config key: its type, default and meaning, from the pydantic models."""
    rows = "\n".join(_model_rows(ProjectConfig))
    return f"| key | type | default | meaning |\n|---|---|---|---|\n{rows}\n"


def environment_table() -> str:
    """Every environment variable the code reads, with its default and meaning."""
    rows = [
        f"| `{name.upper()}` | {_cell(_default(field))} | {_cell(field.description or '')} |"
        for name, field in ServiceSettings.model_fields.items()
    ]
    rows += [
        f"| `{SECRETS_DIR_ENV}` | `{SECRETS_DIR}` (if it exists) | the secrets folder: a file "
        "named after a setting there holds its value (e.g. `API_KEY`) |",
        f"| `{WEBHOOK_ENV}` | — | `monitor` posts a drift alert to this URL |",
        "| `MLFLOW_TRACKING_URI` | `sqlite:///mlflow.db` | the registry every step uses |",
        *(
            f"| `{name}` | `{default}` | {_cell(meaning)} |"
            for name, (default, meaning) in logs.VARIABLES.items()
        ),
    ]
    return "| variable | default | meaning |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def endpoints_table() -> str:
    """Every endpoint of the service, from its OpenAPI document."""
    document = create_app(ServiceSettings.model_validate({})).openapi()
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = ", ".join(sorted(operation.get("responses", {})))
            text = operation.get("description") or operation.get("summary") or ""
            rows.append(
                f"| `{method.upper()} {path}` | {_cell(text.split(chr(10) * 2)[0])} | {codes} |"
            )
    return "| endpoint | what it does | answers |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def exit_codes_table() -> str:
    """What each exit code of the CLI means."""
    verdicts = {code: verdict for verdict, code in EXIT_CODES.items()}
    rows = [
        "| 0 | done; `monitor`: verdict `ok` |",
        "| 1 | `gate` or `promote`: a metric regressed; `schema infer`: the schema differs |",
        "| 2 | a user error: one `error: ...` line naming the problem and the fix |",
        *(
            f"| {code} | `monitor`: verdict `{verdicts[code]}` |"
            for code in sorted(verdicts)
            if code
        ),
    ]
    return "| code | meaning |\n|---|---|\n" + "\n".join(rows) + "\n"


TABLES: dict[str, Callable[[], str]] = {
    "config": config_table,
    "environment": environment_table,
    "endpoints": endpoints_table,
    "exit-codes": exit_codes_table,
}


def render(markdown: str) -> str:
    """The page with each marker replaced by its table; an unknown marker is an error."""

    def table(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in TABLES:
            raise ValueError(f"unknown reference table '{name}'; use one of {', '.join(TABLES)}")
        return TABLES[name]()

    return MARKER.sub(table, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """The MkDocs hook: fill in the page's reference tables."""
    return render(markdown)


if __name__ == "__main__":
    for name, make in TABLES.items():
        print(f"## {name}\n\n{make()}")
