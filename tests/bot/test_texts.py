"""Splitting long answers for chat limits: at line breaks, then between words, never inside a grapheme."""

from __future__ import annotations

import unicodedata

import pytest

from bot.texts import split_message

# "Jeddah" with full vowel marks, repeated without spaces: a "word" far longer than the limit.
VOWELLED = "جِدَّةُ" * 40
FAMILY = "👨‍👩‍👧‍👦"  # one grapheme, seven code points


@pytest.mark.parametrize("limit", [5, 7, 10, 33, 100])
def test_a_long_vowelled_word_is_never_cut_between_a_letter_and_its_marks(limit: int) -> None:
    chunks = split_message(VOWELLED, limit)
    assert "".join(chunks) == VOWELLED
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    for chunk in chunks:
        assert unicodedata.category(chunk[0]) != "Mn", f"chunk starts with a lone mark: {chunk!r}"


def test_an_emoji_sequence_stays_whole() -> None:
    text = "ا" * 8 + FAMILY * 3
    chunks = split_message(text, 10)
    assert "".join(chunks) == text
    assert all(FAMILY in chunk or "\u200d" not in chunk for chunk in chunks)
    assert all(chunk.count("\u200d") % 3 == 0 for chunk in chunks)


def test_lines_then_words_come_first() -> None:
    assert split_message("مرحبا بك\nفي جدة", 12) == ["مرحبا بك", "في جدة"]
    assert split_message("one two three", 9) == ["one two", "three"]
    assert split_message("   ", 10) == ["…"]
