"""Tables of input → output for every normalisation rule, offsets back into the original, and properties."""

from __future__ import annotations

import random
import sys
import unicodedata
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.normalize import Normalized, arabizi_fold, fold, normalize, script, tokens

RLM, LRM, ALM, ZWJ, ZWNJ, BOM, SHY = "\u200f", "\u200e", "\u061c", "\u200d", "\u200c", "\ufeff", "\u00ad"

FOLD_TABLE = [
    # alef and hamza forms
    ("أحمد", "احمد"),
    ("إسطنبول", "اسطنبول"),
    ("آخر", "اخر"),
    ("ٱلله", "الله"),
    ("مؤسسة", "موسسه"),
    ("مسائي", "مسايي"),
    ("سماء", "سماء"),  # standalone hamza is kept
    ("ء", "ء"),
    ("ا\u0654", "ا"),  # combining hamza above, as some keyboards type أ
    # taa marbuta, alef maqsura, Persian/Urdu letters
    ("صيدلية", "صيدليه"),
    ("مستشفى", "مستشفي"),
    ("على", "علي"),
    ("کتاب", "كتاب"),
    ("فارسی", "فارسي"),
    ("ہوٹل", "هوٹل"),
    # tatweel and diacritics (tashkeel, superscript alef, Quranic marks)
    ("مـــول", "مول"),
    ("جـدة", "جده"),
    ("مَرْحَبًا", "مرحبا"),
    ("شُكْرًا جَزِيلًا", "شكرا جزيلا"),
    ("مُحَمَّدٌ", "محمد"),
    ("هٰذا", "هذا"),
    ("الرَّحْمَٰنِ", "الرحمن"),
    ("قَالَ ۚ وَ", "قال و"),
    # elongation
    ("مرحباااا", "مرحبا"),
    ("هلااا والله", "هلا والله"),
    ("ههههههه", "ه"),
    ("الله", "الله"),  # a double letter stays
    ("pleeeease", "pleease"),
    ("good coffee", "good coffee"),
    ("soooo", "soo"),
    ("!!!???", "!!!???"),  # only letters are squeezed
    ("1000", "1000"),
    ("😂😂😂", "😂😂😂"),
    # digits
    ("٩ مساءً", "9 مساء"),
    ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
    ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
    ("الساعة ١٠:٣٠", "الساعه 10:30"),
    ("١٢٫٥", "12.5"),
    ("١٬٠٠٠", "1,000"),
    # Arabic punctuation
    ("وين المول؟", "وين المول?"),
    ("جدة، الرياض؛ مكة", "جده, الرياض; مكه"),
    ("٥٠٪", "50%"),
    # bidi and format controls
    (f"{RLM}مول{LRM}", "مول"),
    (f"مول{ALM} العرب", "مول العرب"),
    ("\u202bمول\u202c", "مول"),
    ("\u2067مول\u2069 mall", "مول mall"),
    (f"لا{ZWJ}{ZWNJ}", "لا"),
    (f"{BOM}hello", "hello"),
    (f"co{SHY}ffee", "coffee"),
    ("a\u200bb", "ab"),
    ("a\x00b\x07c\x7f", "abc"),
    # whitespace
    ("  مول   العرب \n", "مول العرب"),
    ("a\tb\r\nc", "a b c"),
    ("مول\u00a0العرب", "مول العرب"),
    ("\u2003\u2009x\u3000", "x"),
    ("", ""),
    ("   ", ""),
    # mixed scripts, Latin case
    ("ابغى mall قريب", "ابغي mall قريب"),
    ("Red Sea MALL", "red sea mall"),
    ("Café", "cafe"),
    ("STRAẞE", "strasse"),
    ("İstanbul", "istanbul"),
    ("Ｊｅｄｄａｈ", "jeddah"),
    ("𝐑𝐞𝐝 𝐒𝐞𝐚", "red sea"),
    ("ﬁle", "file"),
    ("don’t “go”", 'don\'t "go"'),
    ("…", "..."),
    # presentation forms and ligatures
    ("ﻻ", "لا"),
    ("ﻷ", "لا"),
    ("ﷲ", "الله"),
    ("ﺟﺪﺓ", "جده"),
    ("ﻣﻮﻝ", "مول"),
    ("\ufe70", ""),  # isolated fathatan: a spacing diacritic
    ("﷼", "ريال"),
    ("﷽", "بسم الله الرحمن الرحيم"),
    ("ﷺ", "صلي الله عليه وسلم"),
    # untouched
    ("👍🏽 ❤️", "👍🏽 ❤️"),
    ("مول العرب", "مول العرب"),
]


@pytest.mark.parametrize(("raw", "expected"), FOLD_TABLE)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), FOLD_TABLE)
def test_normalize_text_matches_fold(raw: str, expected: str) -> None:
    result = normalize(raw)
    assert result.text == expected
    assert result.original == raw
    assert_offsets(result)


def produced_by(normalized_char: str, original_char: str) -> bool:
    """Whether ``original_char`` alone folds to something containing ``normalized_char``."""
    if normalized_char == " " and original_char.isspace():
        return True
    return normalized_char in fold(original_char)


def assert_offsets(result: Normalized) -> None:
    text, offsets, original = result.text, result.offsets, result.original
    assert len(offsets) == len(text) + 1
    assert offsets[-1] == len(original)
    assert all(a <= b for a, b in pairwise(offsets))
    assert all(0 <= o < len(original) for o in offsets[:-1])
    for i, ch in enumerate(text):
        assert produced_by(ch, original[offsets[i]]), (i, ch, original[offsets[i]])


@pytest.mark.parametrize(
    ("raw", "offsets"),
    [
        ("مرحبا", (0, 1, 2, 3, 4, 5)),
        ("مَرْحَبًا", (0, 2, 4, 6, 8, 9)),
        ("مـــول", (0, 4, 5, 6)),
        ("مرحباااا", (0, 1, 2, 3, 4, 8)),
        ("pleeeease", (0, 1, 2, 3, 6, 7, 8, 9)),
        ("  أين   هو ", (2, 3, 4, 5, 8, 9, 11)),
        (f"{RLM}مول{LRM}", (1, 2, 3, 5)),
        ("ﻻ بأس", (0, 0, 1, 2, 3, 4, 5)),
        ("٩ مساءً", (0, 1, 2, 3, 4, 5, 7)),
        ("", (0,)),
        ("\u200f", (1,)),
    ],
)
def test_offsets(raw: str, offsets: tuple[int, ...]) -> None:
    result = normalize(raw)
    assert result.offsets == offsets
    assert_offsets(result)


@pytest.mark.parametrize(
    ("raw", "word", "original_word"),
    [
        ("مَرْحَبًا بِكُمْ فِي جِدَّةَ", "بكم", "بِكُمْ"),
        ("مَرْحَبًا بِكُمْ فِي جِدَّةَ", "جده", "جِدَّةَ"),
        ("مَرْحَبًا بِكُمْ", "مرحبا", "مَرْحَبًا"),
        ("وين مـــول العرب؟", "مول", "مـــول"),
        ("وين مـــول العرب؟", "مول العرب", "مـــول العرب"),
        (f"وين {RLM}مول{RLM} العرب", "مول", "مول"),
        ("مرحباااا يا جماعة", "مرحبا", "مرحباااا"),
        ("هههههه حلو", "ه", "هههههه"),
        ("pleeeease help", "pleease", "pleeeease"),
        ("Red  Sea   Mall!", "sea mall", "Sea   Mall"),
        ("ﻻ أعرف", "لا", "ﻻ"),
        ("ﻻ أعرف", "ل", "ﻻ"),
        ("ابغى mall قريب", "mall", "mall"),
        ("متى يفتح الساعة ٩ مساءً", "9 مساء", "٩ مساءً"),
        ("Café Bateel", "cafe", "Café"),
        ("Cafe\u0301 Bateel", "cafe", "Cafe\u0301"),
    ],
)
def test_span_maps_a_word_back(raw: str, word: str, original_word: str) -> None:
    result = normalize(raw)
    start = result.text.index(word)
    s, e = result.span(start, start + len(word))
    assert raw[s:e] == original_word


def test_span_edges() -> None:
    result = normalize("  مـول ")
    assert result.text == "مول"
    assert result.span(0, 0) == (2, 2)
    assert result.span(3, 3) == (7, 7)
    assert result.span(0, 3) == (2, 6)
    with pytest.raises(ValueError, match="outside"):
        result.span(2, 1)
    with pytest.raises(ValueError, match="outside"):
        result.span(0, 4)
    with pytest.raises(ValueError, match="outside"):
        result.span(-1, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("wain a8rab saydaliya", "wain aqrab saydaliya"),
        ("mata yeft7 red sea mall", "mata yefth red sea mall"),
        ("3ala", "ala"),
        ("7ayy al hamra", "hayy al hamra"),
        ("940", "940"),
        ("9 pm", "9 pm"),
        ("9pm", "9pm"),
        ("10am", "10am"),
        ("3rd street", "3rd stret"),  # vowel runs shrink in English words too (on both sides of a match)
        ("5km", "5km"),
        ("covid19", "covid19"),
        ("call 920000000", "call 920000000"),
        ("2ahlan", "ahlan"),
        ("5alas", "khalas"),
        ("6ayeb", "tayeb"),
        ("9aidaliya", "saidaliya"),
        ("3'ali", "ghali"),
        ("7'alas", "khalas"),
        ("6'uhr", "zuhr"),
        ("9'aif", "daif"),
        ("feen", "fen"),
        ("a7hh", "ahh"),  # squeezed again as fold() would
        ("MATA YEFT7", "mata yefth"),
        ("وين a8rab صيدلية", "وين aqrab صيدليه"),
        ("صيدلية ٩", "صيدليه 9"),
        ("__place__ a8rab", "__place__ aqrab"),
        ("", ""),
    ],
)
def test_arabizi_fold(raw: str, expected: str) -> None:
    assert arabizi_fold(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("وين أقرب صيدلية؟", [("وين", 0, 3), ("اقرب", 4, 8), ("صيدليه", 9, 15), ("?", 15, 16)]),
        ("a8rab 9pm!", [("a8rab", 0, 5), ("9pm", 6, 9), ("!", 9, 10)]),
        ("don't", [("don", 0, 3), ("'", 3, 4), ("t", 4, 5)]),
        ("10:30", [("10", 0, 2), (":", 2, 3), ("30", 3, 5)]),
        ("مول_العرب", [("مول", 0, 3), ("_", 3, 4), ("العرب", 4, 9)]),
        ("👍🏽❤️🇸🇦", [("👍🏽", 0, 2), ("❤️", 2, 4), ("🇸🇦", 4, 6)]),
        ("  مـــول  ", [("مول", 0, 3)]),
        ("", []),
    ],
)
def test_tokens(raw: str, expected: list[tuple[str, int, int]]) -> None:
    assert tokens(raw) == expected


@given(st.text(max_size=200))
def test_tokens_index_the_folded_text(raw: str) -> None:
    folded = fold(raw)
    found = tokens(raw)
    assert all(folded[s:e] == token for token, s, e in found)
    assert "".join(t for t, _, _ in found) == folded.replace(" ", "")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("وين أقرب صيدلية", "ar"),
        ("ابغى mall قريب", "ar"),
        ("where is the nearest pharmacy", "en"),
        ("wain a8rab saydaliya", "en"),
        ("I want to go to الراشد mall", "en"),
        ("mall العرب", "mixed"),
        ("فارسی", "ar"),
        ("Привет", "en"),
        ("👍", "none"),
        ("940", "none"),
        ("٩٤٠", "none"),
        ("?!", "none"),
        ("", "none"),
    ],
)
def test_script(raw: str, expected: str) -> None:
    assert script(raw) == expected


# --- properties ---------------------------------------------------------------------------------

ARABIC_HEAVY = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
        st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF),
        st.sampled_from([" ", "\n", RLM, LRM, ALM, ZWJ, ZWNJ, BOM, SHY, "\u0640", "a", "A", "9", "é"]),
        st.characters(codec="utf-8"),
    ),
    max_size=300,
)
ANY_TEXT = st.one_of(st.text(max_size=300), ARABIC_HEAVY)


@given(ANY_TEXT)
def test_normalize_invariants(raw: str) -> None:
    result = normalize(raw)
    assert result.text == fold(raw)
    assert_offsets(result)


@given(ANY_TEXT)
def test_fold_is_idempotent(raw: str) -> None:
    once = fold(raw)
    assert fold(once) == once
    assert normalize(once).text == once


@given(ANY_TEXT)
def test_arabizi_fold_is_idempotent(raw: str) -> None:
    once = arabizi_fold(raw)
    assert arabizi_fold(once) == once


@given(ANY_TEXT, st.data())
def test_span_stays_inside_the_original(raw: str, data: st.DataObject) -> None:
    result = normalize(raw)
    start = data.draw(st.integers(0, len(result.text)))
    end = data.draw(st.integers(start, len(result.text)))
    s, e = result.span(start, end)
    assert 0 <= s <= e <= len(raw)
    if start < end:
        assert s == result.offsets[start]
        assert e > result.offsets[end - 1]


@settings(max_examples=10, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_long_text(chunk: str) -> None:
    raw = (chunk * (100_000 // len(chunk) + 1))[:100_000]
    result = normalize(raw)
    assert result.text == fold(raw)
    assert len(result.offsets) == len(result.text) + 1
    assert fold(result.text) == result.text
    arabizi_fold(raw)
    tokens(raw)
    script(raw)


@pytest.mark.parametrize(
    "raw",
    [
        " " * 100_000,
        "ا" * 100_000,
        "مَ" * 50_000,
        "a8" * 50_000,
        "9" * 100_000,
        "x" * 99_999 + "9",
        "\u200f" * 100_000,
        "ﷺ" * 20_000,
        "".join(chr(random.Random(seed).randrange(0x20, 0x3000)) for seed in range(100_000)),
    ],
    ids=["spaces", "alef", "diacritics", "arabizi", "digits", "long-word", "rlm", "ligature", "random"],
)
def test_100_kb(raw: str) -> None:
    result = normalize(raw)
    assert result.text == fold(raw)
    assert len(result.offsets) == len(result.text) + 1
    arabizi_fold(raw)
    tokens(raw)
    script(raw)


def test_every_control_and_format_character_is_removed() -> None:
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cc", "Cf"):
            assert fold(f"a{ch}b") in ("ab", "a b"), f"U+{cp:04X}"


def test_every_bmp_character_folds_idempotently() -> None:
    for cp in range(0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        once = fold(chr(cp))
        assert fold(once) == once, f"U+{cp:04X}"
        result = normalize(chr(cp))
        assert result.text == once
        assert all(o == 0 for o in result.offsets[:-1])
