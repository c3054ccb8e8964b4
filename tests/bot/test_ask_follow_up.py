"""``dalil ask --user ID`` keeps the conversation between runs (each run is a new process in real use)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings

REPO = Path(__file__).parents[2]


@pytest.fixture
def ask_env(monkeypatch: pytest.MonkeyPatch, sqlite_settings: Settings, tmp_path: Path) -> Path:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DALIL_DATABASE_URL", sqlite_settings.database_url)
    monkeypatch.setenv("DALIL_MODEL_DIR", str(sqlite_settings.model_dir))
    monkeypatch.setenv("DALIL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DALIL_NOW", "2026-11-24T20:00:00")
    monkeypatch.delenv("DALIL_REDIS_URL", raising=False)
    return tmp_path / "state"


def _ask(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert main(["ask", *argv, "--json"]) == 0
    replies: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return replies


def test_a_follow_up_uses_the_location_shared_in_an_earlier_run(
    ask_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _ask(capsys, "وين اقرب مطعم", "--user", "resident", "--lat", "21.5433", "--lon", "39.1728")
    assert first[0]["kind"] == "choices"
    assert list(ask_env.glob("*.json")), "the conversation is kept on disk"
    follow_up = _ask(capsys, "وكافيه؟", "--user", "resident")
    kinds = [r["kind"] for r in follow_up]
    assert "request_location" not in kinds  # the location from the first run is remembered
    assert "choices" in kinds
    assert " كم" in json.dumps(follow_up, ensure_ascii=False)  # distances from the remembered point
    other = _ask(capsys, "وكافيه؟", "--user", "someone-else")
    assert " كم" not in json.dumps(other, ensure_ascii=False)  # another user has no location on file
