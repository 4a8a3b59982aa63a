"""Cookiecutter pre-generation hook: the same answer rules, in the same words, as copier.yml's validators.

Validation only: it reads the answers, prints one clear line on the first bad one and exits 1, so
cookiecutter removes the half-made project and nothing is written.
"""

import re
import sys

KEYWORDS = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
    "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
]
SHADOWED = [
    "mlflow", "sklearn", "skops", "ibis", "duckdb", "pandas", "numpy", "pyarrow", "pydantic", "yaml",
    "typer", "matplotlib", "filelock", "scipy", "fastapi", "uvicorn", "evidently", "test", "tests", "train",
]


def problem(answers: dict[str, str]) -> str:
    """Return the message for the first bad answer, or an empty string when all are fine."""
    name, slug, package, email = (
        answers["project_name"], answers["project_slug"], answers["package_name"], answers["author_email"]
    )
    if not name.strip():
        return 'project_name must not be empty: give the project a name such as "Churn Model".'
    if not re.search(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", slug):
        return (
            f"project_slug '{slug}' is not a valid slug: use lowercase letters, digits and single "
            "hyphens, starting with a letter (e.g. churn-model)."
        )
    if not re.search(r"^[a-z_][a-z0-9_]*$", package):
        return (
            f"package_name '{package}' is not a Python identifier: use lowercase letters, digits and "
            "underscores, not starting with a digit (e.g. churn_model)."
        )
    if package in KEYWORDS:
        return f"package_name '{package}' is a Python keyword: choose another name (e.g. {package}_model)."
    if package in SHADOWED:
        return (
            f"package_name '{package}' would shadow the module '{package}' that the project imports: "
            f"choose another name (e.g. {package}_model)."
        )
    if not re.search(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", email):
        return f"author_email '{email}' is not an email address: use the form name@example.com."
    return ""


message = problem(
    {
        "project_name": {{ cookiecutter.project_name | tojson }},
        "project_slug": {{ cookiecutter.project_slug | tojson }},
        "package_name": {{ cookiecutter.package_name | tojson }},
        "author_email": {{ cookiecutter.author_email | tojson }},
    }
)
if message:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)
