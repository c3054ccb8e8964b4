"""Stored conversation state is versioned: what another version wrote reads as a fresh conversation."""

from __future__ import annotations

import json

from bot.state import STATE_VERSION, UserState


def test_state_round_trips_with_its_version() -> None:
    state = UserState(lang="en", lang_locked=True, last_places=["red-sea-mall"], location=[21.5, 39.1, 1.0])
    state.pending = {"kind": "nearest", "category": "pharmacy"}
    stored = state.to_json()
    assert json.loads(stored)["v"] == STATE_VERSION
    assert UserState.from_json(stored) == state


def test_state_from_before_versions_still_reads() -> None:
    assert UserState.from_json('{"lang": "en", "turns": 3}') == UserState(lang="en", turns=3)


def test_state_of_another_version_or_unreadable_is_fresh() -> None:
    other = json.dumps({"v": STATE_VERSION + 1, "lang": "en", "pending": ["a", "new", "shape"]})
    assert UserState.from_json(other) == UserState()
    assert UserState.from_json(b"\xff not json") == UserState()
    assert UserState.from_json('{"lang": "en", "unknown_field": 1}') == UserState(lang="en")
