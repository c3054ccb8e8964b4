"""How the dialogue reads a message besides the NLU: greetings, the question clause, filters, cancel words."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.lexicon import Lexicon, question_clause

LEXICON = Lexicon.load(Path(__file__).parents[2] / "data" / "dialogue" / "words.yml")


@pytest.mark.parametrize(
    ("text", "greeting", "rest"),
    [
        ("مساء الخير، ابي اقرب صراف", "مساء الخير", "ابي اقرب صراف"),
        (
            "السلام عليكم ورحمة الله وبركاته، وين اقرب صيدلية",
            "السلام عليكم ورحمة الله وبركاته",
            "وين اقرب صيدلية",
        ),
        ("Hi! where is Red Sea Mall?", "Hi", "where is Red Sea Mall?"),
        ("hello, good evening - nearest ATM", "hello, good evening", "nearest ATM"),
        ("وين البلد", "", "وين البلد"),
        ("السلامة مول", "", "السلامة مول"),  # a name that starts like a greeting is not one
    ],
)
def test_a_leading_greeting_is_split_off(text: str, greeting: str, rest: str) -> None:
    assert LEXICON.split_greeting(text) == (greeting, rest)


def test_the_question_of_a_long_message_is_its_last_asking_sentence() -> None:
    story = "جيت من الرياض امس مع عيالي ورحنا مطعم بالبلد وكان الاكل حلو مرة، بس ولدي تعبان. وين اقرب مستشفى؟"
    assert question_clause(story) == "وين اقرب مستشفى؟"
    assert question_clause("وين اقرب مستشفى؟") == "وين اقرب مستشفى؟"  # short: the whole message


@pytest.mark.parametrize(
    ("text", "filters", "cuisines"),
    [
        ("nearest cafe open now", ["open_now"], []),
        ("صيدلية مفتوحة 24 ساعة", ["open_24h"], []),
        ("best seafood restaurant", [], ["seafood"]),
        ("مطعم مندي فيه قسم عوائل", ["family_section"], ["mandi"]),
        ("opening hours of the museum", [], []),  # "opening" is not "open"
    ],
)
def test_attributes_in_a_question(text: str, filters: list[str], cuisines: list[str]) -> None:
    assert LEXICON.wanted_filters(text) == filters
    assert LEXICON.wanted_cuisines(text) == cuisines


@pytest.mark.parametrize(
    ("text", "cancel"),
    [
        ("الغاء", True),
        ("رجعني للبوت لو سمحت", True),
        ("cancel", True),
        ("وين رد سي مول", False),
        ("cancel my hotel booking at the Hilton please", False),
    ],
)
def test_cancel_words(text: str, cancel: bool) -> None:
    assert LEXICON.only_cancel(text) is cancel
