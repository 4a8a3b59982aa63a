"""What several tests share: paths, factories, local servers and assertions (no fixtures here)."""

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The project's root: configs, sample data and the committed baseline are read from here.
PROJECT = Path(__file__).resolve().parent.parent


def registered_versions(name: str) -> list[str]:
    """Version numbers registered under a model name in the current registry, oldest first."""
    from mlflow.tracking import MlflowClient

    from {{ cookiecutter.package_name }}.io import registry

    registry.init_registry()
    versions = MlflowClient().search_model_versions(f"name='{name}'")
    return sorted((str(v.version) for v in versions), key=int)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    """A user mistake is reported as one `error: ...` line holding each fragment, no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr


@dataclass
class Webhook:
    """A webhook on 127.0.0.1 that fails its first `failures` requests with HTTP 500."""

    url: str
    failures: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
