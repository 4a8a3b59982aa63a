"""Model URIs, `models:/<name>/<version>` (one version) or `models:/<name>@<alias>`.

The one place they are parsed and built: every command's `--model`, the service's MODEL_URI,
the registry and the exported model all go through here, with one error text.
"""

import re
from dataclasses import dataclass

from .errors import UserError

# The accepted forms, as a regular expression (also the service setting's pattern).
PATTERN = r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[0-9]+)|@(?P<alias>[\w-]+))$"
FORMS = "models:/<name>/<version> or models:/<name>@<alias>"
_MATCH = re.compile(PATTERN)


@dataclass(frozen=True)
class ModelUri:
    """A parsed model URI: a name and either a version number or an alias."""

    name: str
    version: str | None
    alias: str | None


def parse_model_uri(uri: str, *, exact: bool = False) -> ModelUri:
    """Parse a model URI; `exact` demands a version number. A bad URI is a UserError."""
    match = _MATCH.match(uri)
    if match is None or (exact and match["version"] is None):
        forms = "models:/<name>/<version>; name one exact version" if exact else FORMS
        raise UserError(f"model URI {uri!r} is not {forms}")
    return ModelUri(name=match["name"], version=match["version"], alias=match["alias"])


def version_uri(name: str, version: str) -> str:
    """The URI of one model version, `models:/<name>/<version>`."""
    return f"models:/{name}/{version}"


def alias_uri(name: str, alias: str) -> str:
    """The URI of the version an alias points to, `models:/<name>@<alias>`."""
    return f"models:/{name}@{alias}"
