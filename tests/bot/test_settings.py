"""Settings: config.yml's ``dalil:`` section, overridden by the environment; bad values named at start-up."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings, SettingsError
from knowledge.clock import RIYADH

REPO = Path(__file__).parents[2]


def _config(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(f"language: ar\npipeline: []\ndalil:\n{section}", encoding="utf-8")
    return path


def test_the_bundled_config_and_defaults() -> None:
    settings = Settings.load(REPO / "config.yml", env={})
    assert settings.nlu_engine == "embedded"
    assert settings.data_dir == Path("data")
    assert settings.confidence_threshold == pytest.approx(0.45)
    assert settings.opendata_min_confidence == pytest.approx(0.6)
    assert settings.database_url == "sqlite:///var/dalil.db"
    assert settings.redis_url is None
    assert settings.now is None
    assert settings.telegram_api_base_url == "https://api.telegram.org"


def test_the_environment_overrides_the_config_file(tmp_path: Path) -> None:
    config = _config(
        tmp_path, "  nlu:\n    engine: embedded\n    rasa_url: http://rasa:5005\n  log_level: info\n"
    )
    env = {
        "DALIL_NLU_ENGINE": "rasa",
        "DALIL_DATABASE_URL": "postgresql://u@db/dalil",
        "DALIL_REDIS_URL": "  ",  # blank counts as unset
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9000/v25.0",
        "DALIL_NOW": "2026-11-24T20:00:00",
    }
    settings = Settings.load(config, env=env)
    assert settings.nlu_engine == "rasa"
    assert settings.rasa_url == "http://rasa:5005"  # from the file: the environment did not set it
    assert settings.log_level == "INFO"
    assert settings.database_url == "postgresql+psycopg://u@db/dalil"
    assert settings.redis_url is None
    assert settings.whatsapp_api_base_url == "http://127.0.0.1:9000/v25.0"
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)
    assert settings.now == datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)


def test_a_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"DALIL_NLU_ENGINE: .*'embedded' or 'rasa'.*'spacy'"):
        Settings.load(REPO / "config.yml", env={"DALIL_NLU_ENGINE": "spacy"})
    with pytest.raises(SettingsError, match=r"DALIL_NOW: .*'next tuesday'"):
        Settings.load(REPO / "config.yml", env={"DALIL_NOW": "next tuesday"})


def test_a_bad_config_value_names_its_place_in_config_yml(tmp_path: Path) -> None:
    config = _config(tmp_path, "  nlu:\n    confidence_threshold: 1.5\n")
    with pytest.raises(SettingsError, match=r"config\.yml dalil\.nlu\.confidence_threshold: .*1"):
        Settings.load(config, env={})


def test_a_bad_secret_is_named_but_never_shown() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.load(REPO / "config.yml", env={"DALIL_ADMIN_TOKEN": "s3cret", "DALIL_INBOX_LEASE_S": "0"})
    assert "DALIL_INBOX_LEASE_S" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_the_command_line_stops_with_the_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DALIL_NLU_ENGINE", "spacy")
    assert main(["--config", str(REPO / "config.yml"), "kb", "stats"]) == 2
    assert "DALIL_NLU_ENGINE" in capsys.readouterr().err
