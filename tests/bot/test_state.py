"""Stored conversation state is versioned: what another version wrote reads as a fresh conversation."""

from __future__ import annotations

import json

from bot.state import STATE_VERSION, AskFeedback, AwaitLocation, ChoosePlace, ReportDraft, UserState


def test_state_round_trips_with_its_version() -> None:
    state = UserState(lang="en", lang_locked=True, last_places=["red-sea-mall"], location=[21.5, 39.1, 1.0])
    state.pending = ChoosePlace(["red-sea-mall", "mall-of-arabia"], "opening_hours")
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


def test_open_questions_are_typed_and_read_from_their_stored_shape() -> None:
    stored = '{"v": 1, "pending": {"kind": "nearest", "category": "pharmacy"}}'
    assert UserState.from_json(stored).pending == AwaitLocation("pharmacy")
    report = UserState(pending=ReportDraft({"what": "حفرة", "where": None, "lat": None}, "where"))
    assert UserState.from_json(report.to_json()) == report
    feedback = UserState(pending=AskFeedback(None))
    assert UserState.from_json(feedback.to_json()).pending == AskFeedback(None)
    assert UserState.from_json('{"pending": {"kind": "a-question-from-later"}}').pending is None
