"""The service settings: environment, `.env` file and secrets folder, one line per bad value."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core.errors import UserError
from {{ cookiecutter.package_name }}.serving.settings import ServiceSettings
from tests.helpers import undocumented

NAMES = (
    "MODEL_URI",
    "MODEL_DIR",
    "PREDICTION_LOG_DIR",
    "PREDICTION_LOG_MAX_BYTES",
    "MAX_BATCH_ROWS",
    "MAX_BODY_BYTES",
    "API_KEY",
)
KEY = "k" * 24


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No setting in the environment, an empty working directory and an empty secrets folder."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    folder = tmp_path / "secrets"
    folder.mkdir()
    monkeypatch.setenv("SECRETS_DIR", str(folder))
    return folder


def test_defaults_and_the_environment(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings.from_env() == ServiceSettings.model_validate({})
    monkeypatch.setenv("MODEL_URI", "models:/demo@champion")
    monkeypatch.setenv("MAX_BATCH_ROWS", "20")
    monkeypatch.setenv("MAX_BODY_BYTES", "")  # empty counts as unset
    monkeypatch.setenv("UNRELATED_SETTING", "x")  # other variables are ignored
    settings = ServiceSettings.from_env()
    assert (settings.model_uri, settings.max_batch_rows) == ("models:/demo@champion", 20)
    assert settings.max_body_bytes == 4 * 1024 * 1024
    assert ServiceSettings.from_env(model_uri="models:/demo/3").model_uri == "models:/demo/3"


def test_a_dot_env_file_below_the_environment(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(".env").write_text(f"API_KEY={KEY}\nMAX_BATCH_ROWS=7\nMLFLOW_TRACKING_URI=x\n")
    settings = ServiceSettings.from_env()
    assert settings.api_key is not None and settings.api_key.get_secret_value() == KEY
    assert settings.max_batch_rows == 7
    monkeypatch.setenv("MAX_BATCH_ROWS", "9")
    assert ServiceSettings.from_env().max_batch_rows == 9


def test_the_api_key_from_the_secrets_folder(secrets: Path) -> None:
    (secrets / "API_KEY").write_text(KEY + "\n")
    settings = ServiceSettings.from_env()
    assert settings.api_key is not None and settings.api_key.get_secret_value() == KEY
    assert settings.to_env()["API_KEY"] == KEY, "workers get it through their environment"
    assert KEY not in repr(settings)


def test_a_secrets_folder_that_is_not_there(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(secrets / "missing"))
    with pytest.raises(UserError, match=r"^SECRETS_DIR=.*missing: not a folder"):
        ServiceSettings.from_env()


def test_a_short_key_is_refused_without_showing_it(secrets: Path) -> None:
    (secrets / "API_KEY").write_text("short-secret")
    with pytest.raises(UserError) as caught:
        ServiceSettings.from_env()
    assert str(caught.value) == "bad service setting: API_KEY: use a key of at least 16 characters"


def test_settings_are_frozen_and_reproduced_by_their_environment(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ServiceSettings.from_env(model_dir=Path("exported"), api_key=KEY)
    with pytest.raises(ValidationError):
        settings.max_batch_rows = 5
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert ServiceSettings.from_env() == settings


def test_every_setting_is_documented() -> None:
    """The docs' environment table shows each setting's description: none may be missing."""
    assert undocumented(ServiceSettings) == []
