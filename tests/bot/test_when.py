"""Placing a reading of a time on the calendar (bot/when.py), and no second time parser in bot/."""

from __future__ import annotations

import ast
import re
import typing
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.when import When, resolve_when
from knowledge.hours import RIYADH, next_ramadan
from nlu.times import Clock, TimeMeaning, read

BOT = Path(__file__).parents[2] / "bot"
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)  # a Tuesday evening
FRIDAY = 4


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=RIYADH)


@pytest.mark.parametrize(
    ("meaning", "when"),
    [
        (TimeMeaning(), When(at=NOW)),
        (TimeMeaning(now=True), When(at=NOW, explicit=True)),
        (TimeMeaning(day="today"), When(day=date(2026, 11, 24), explicit=True)),
        (TimeMeaning(day="today", now=True), When(at=NOW, explicit=True)),
        (TimeMeaning(day="tomorrow"), When(day=date(2026, 11, 25), explicit=True)),
        (TimeMeaning(day="after_tomorrow"), When(day=date(2026, 11, 26), explicit=True)),
        (TimeMeaning(weekday=FRIDAY), When(day=date(2026, 11, 27), explicit=True)),
        (TimeMeaning(weekday=1), When(day=date(2026, 11, 24), explicit=True)),  # Tuesday is today
        (TimeMeaning(day="tomorrow", weekday=FRIDAY), When(day=date(2026, 11, 25), explicit=True)),
        (TimeMeaning(day="today", tonight=True), When(at=at(24, 21), explicit=True)),
        (TimeMeaning(clock=Clock(11, 0, "night")), When(at=at(24, 23), explicit=True)),
        (TimeMeaning(clock=Clock(9, 0, "am")), When(at=at(25, 9), explicit=True)),  # 9 am has passed
        (TimeMeaning(clock=Clock(7, 40, "pm")), When(at=at(24, 19, 40), explicit=True)),  # 20 min ago
        (TimeMeaning(day="today", clock=Clock(9, 0, "am")), When(at=at(24, 9), explicit=True)),
        (TimeMeaning(weekday=FRIDAY, clock=Clock(11, 0, "night")), When(at=at(27, 23), explicit=True)),
        (TimeMeaning(day="tomorrow", clock=Clock(10, 0, "am")), When(at=at(25, 10), explicit=True)),
    ],
)
def test_resolve_when(meaning: TimeMeaning, when: When) -> None:
    assert resolve_when(meaning, NOW) == when


def test_ramadan_is_a_day_of_the_next_ramadan() -> None:
    start, _end = next_ramadan(NOW.date())
    day = start + timedelta(days=1)
    assert resolve_when(TimeMeaning(ramadan=True), NOW) == When(day=day, ramadan=True, explicit=True)
    at_ten = resolve_when(TimeMeaning(clock=Clock(10, 0, "night"), ramadan=True), NOW)
    assert at_ten == When(at=datetime.combine(day, time(22), RIYADH), ramadan=True, explicit=True)


def test_the_calendar_takes_the_nlu_reading() -> None:
    """bot/ places a time the NLU has read; it does not read text itself."""
    hints = typing.get_type_hints(resolve_when)
    assert hints["meaning"] is TimeMeaning
    assert resolve_when(read("بكرة الساعة ٩ الليل"), NOW) == When(at=at(25, 21), explicit=True)


def _pattern_words(path: Path) -> list[tuple[int, str]]:
    """(line, word) of every word in a string given to a ``re`` function in ``path``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        is_re_call = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.args
        )
        if not is_re_call:
            continue
        assert isinstance(node, ast.Call)
        for part in ast.walk(node.args[0]):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                found += [(node.lineno, word) for word in re.findall(r"[^\W\d_]+", part.value)]
    return found


def test_no_time_pattern_in_bot() -> None:
    """Times are parsed once, in nlu/times.py: no regular expression in bot/ names a time."""
    timed = [
        f"{path.relative_to(BOT.parent)}:{line} {word!r}"
        for path in sorted(BOT.rglob("*.py"))
        for line, word in _pattern_words(path)
        if read(word).named
    ]
    assert timed == []
    assert "import re" not in (BOT / "when.py").read_text(encoding="utf-8")


def test_the_check_sees_a_time_pattern(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('import re\n_TOMORROW = re.compile(r"بكره|tomorrow")\nre.search("(?:" "الحين)", "x")\n')
    assert [(line, word) for line, word in _pattern_words(sample) if read(word).named] == [
        (2, "بكره"),
        (2, "tomorrow"),
        (3, "الحين"),
    ]
