"""How names are written: the canonical tokens the gazetteer matches names on.

A name and a message meet on tokens that are folded (:func:`nlu.normalize.fold`), without the
definite article and attached prepositions, and, for Latin spellings, reduced to a skeleton
(:func:`latin_key`) so "rawda", "rawdah", "al-rawdah" and "ar rawdah" are one token. "عبد" and the name
after it are one token however they are written ("عبد الرؤوف", "عبدالرؤوف", "abdul aziz", "abdelaziz").
"""

from __future__ import annotations

import re
from typing import NamedTuple

from nlu.normalize import Normalized, arabizi_fold, fold

__all__ = [
    "ABD",
    "AR_PREFIXES",
    "DROP",
    "LATIN_ARTICLES",
    "LATIN_PREFIXES",
    "WORD",
    "Token",
    "bare",
    "canonical_tokens",
    "clitic",
    "english_word",
    "is_extension",
    "key",
    "latin_key",
    "sun_article",
    "swapped",
]

WORD = re.compile(r"[^\W_]+")
AR_PREFIXES = ("وبال", "ولل", "وال", "بال", "فال", "كال", "لل", "ال", "وب", "ول", "و", "ب", "ل", "ف", "ك")
LATIN_PREFIXES = ("al", "el")
DROP = frozenset({"al", "el", "il", "the", "ال"})
LATIN_ARTICLES = frozenset({"al", "el"})
_SUN_ARTICLES = frozenset({"ar", "as", "ash", "at", "az", "ad", "an", "adh", "ath"})

_ENGLISH_TOO = frozenset({"at", "as", "an"})
"""Sun-letter articles that are also English words ("at Tayebat Museum" is no "at-Tayebat")."""
ABD = re.compile(r"^(?:3?abd[ueoa]?l?|عبد)$")
""""عبد"/"abdul" and the name after it are one name, written apart or joined ("عبد الرؤوف", "abdulaziz")."""
_LATIN_ABD = re.compile(r"^abd(?:[uoea]l)?")
_PLURAL_MIN = 3
_HEAD_WORDS = frozenset({"مول", "سنتر", "بلازا"})


def clitic(token: str, prefix: str) -> int:
    """How many letters of ``prefix`` stay outside the span: the conjunction or preposition, not the article.

    "والصيدلية" → 1 ("و"), "بالروضة" → 1, "للبلد" → 1 (ل + the article written "ل"), "ولل…" → 2; a
    Latin "al" joined to a name ("alsalamah") is part of it.
    """
    if token.isascii():
        return 0
    if prefix.endswith("لل"):
        return len(prefix) - 1
    if prefix.endswith("ال"):
        return len(prefix) - 2
    return len(prefix)


def sun_article(article: str, word: str) -> bool:
    """Whether ``article`` is "al" written as the sun letter it became ("ar rawdah", "as-safa")."""
    return article in _SUN_ARTICLES and word.startswith(article[1:])


def key(token: str) -> str:
    """The token as names are indexed: a Latin word's :func:`latin_key`, anything else as it is."""
    return latin_key(token) if token.isascii() and not token.isdigit() else token


def latin_key(token: str) -> str:
    """A Latin spelling's skeleton, so "rawda", "rawdah", "rowdha" and "al-rawdah" meet.

    "ou"/"oo"/"o" → "u", "ee"/"ii"/"e" → "i", Arabizi-folded, doubled letters single, a final "h" after
    a vowel dropped ("salamah" → "salama"), a final Arabizi hamza "2" dropped ("shati2" → "shati"), an
    English plural "s" dropped from a longer word, and
    "abd"/"abdel"/"abdul" at the start read alike ("abdelaziz", "abdulaziz").
    """
    key = token.lower()
    if len(key) > 3 and key.endswith("2") and key[-2].isalpha():
        key = key[:-1]  # a final hamza is silent: "shati2", "tawari2"
    key = key.replace("ou", "u").replace("oo", "u").replace("ee", "i").replace("ii", "i")
    key = arabizi_fold(key).replace("o", "u").replace("e", "i")
    key = re.sub(r"(.)\1+", r"\1", key)
    if len(key) > 3 and key.endswith("h") and key[-2] in "aeiou":
        key = key[:-1]
    if len(key) > _PLURAL_MIN and key.endswith("s"):
        key = key[:-1]  # "passports" and "passport", "souqs" and "souq" meet
    return _LATIN_ABD.sub("abdul", key)


def swapped(name: str) -> str:
    """The name with its head word moved: "مول العرب" is also said "العرب مول"; "" for other names."""
    words = name.split()
    if len(words) < 2:
        return ""
    if words[0] in _HEAD_WORDS:
        return " ".join([*words[1:], words[0]])
    if words[-1] in _HEAD_WORDS:
        return " ".join([words[-1], *words[:-1]])
    return ""


def bare(token: str) -> str:
    """``token`` without the Arabic definite article (when at least two letters are left)."""
    for prefix in ("ال",):
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            return token[len(prefix) :]
    return token


def is_extension(a: str, b: str) -> bool:
    """One word is the other plus letters at an end: a different word more often than a typo."""
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return len(short) < len(long_) and len(short) < 7 and (long_.startswith(short) or long_.endswith(short))


def canonical_tokens(text: str) -> tuple[str, ...]:
    """The tokens a name is matched on: folded, article removed, one-letter and article tokens dropped."""
    out = []
    tokens = WORD.findall(fold(text))
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token in DROP or (len(token) < 2 and not token.isdigit()):
            continue
        if i < len(tokens) and sun_article(token, tokens[i]):
            continue
        if ABD.match(token) and i < len(tokens):
            i += 1 if tokens[i] not in LATIN_ARTICLES or i + 1 >= len(tokens) else 2
            token += tokens[i - 1]
        out.append(key(bare(token)))
    return tuple(out)


class Token(NamedTuple):
    """A word of the message as the gazetteer sees it."""

    canon: str
    """Its canonical token ("" when it names nothing)."""
    score: float
    start: int
    """After any clitic that stays outside a name ("و" of "والصيدلية")."""
    end: int
    skip: bool = False
    """An article or "the": inside a name it is passed over."""
    article: bool = False
    """A Latin article ("al", "el", "ar" …): a name right after it starts with it."""


def english_word(norm: Normalized, word: re.Match[str]) -> bool:
    """Whether a sun-letter article spelling is the English word ("at Tayebat Museum", "as Salamah's").

    Read as English when the word is "at", "as" or "an", stands apart (no hyphen), and is written in
    lower case before a capitalised name, as English puts a preposition before a name.
    """
    if word.group() not in _ENGLISH_TOO or norm.text[word.end() : word.end() + 1] == "-":
        return False
    original = norm.original
    first = original[norm.offsets[word.start()]]
    name_start = word.end() + 1
    if name_start >= len(norm.text):
        return False
    return first.islower() and original[norm.offsets[name_start]].isupper()
