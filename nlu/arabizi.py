"""Arabizi → Arabic script, roughly, so Arabizi messages share features with Arabic training data.

"a8rab saydaliya" and "اقرب صيدلية" have no character n-gram in common; after this transliteration
("اقرب سيدليا") they have many. The mapping is the common Gulf/Hijazi Arabizi convention: digits for
the letters Latin lacks (2 ء, 3 ع, 5 خ, 6 ط, 7 ح, 8 ق, 9 ص, and 3' غ, 7' خ, 6' ظ, 9' ض), digraphs
(kh, sh, th, dh, gh), g as ق (Gulf "agrab", "gahwa"), long vowels written (aa, ee, oo, ai, ay, ei),
short vowels inside a word dropped as Arabic script drops them, a vowel at a word's start an alef and at
its end the letter it usually ends on. It is a feature for the classifier, not a spelling anyone would
read: camel-tools has no Arabizi transliterator (its mappers are Buckwalter and safe Buckwalter, for
Arabic script), hence this table.
"""

from __future__ import annotations

import re

__all__ = ["to_arabic"]

_DIGRAPHS = {
    "3'": "غ", "7'": "خ", "6'": "ظ", "9'": "ض", "kh": "خ", "sh": "ش", "th": "ث", "dh": "ذ", "gh": "غ",
    "aa": "ا", "ee": "ي", "ii": "ي", "ei": "ي", "ai": "ي", "ay": "ي", "oo": "و", "ou": "و", "uu": "و",
    "aw": "و",
}  # fmt: skip
_LETTERS = {
    "2": "ء", "3": "ع", "5": "خ", "6": "ط", "7": "ح", "8": "ق", "9": "ص",
    "b": "ب", "t": "ت", "j": "ج", "g": "ق", "d": "د", "r": "ر", "z": "ز", "s": "س", "f": "ف",
    "q": "ق", "k": "ك", "l": "ل", "m": "م", "n": "ن", "h": "ه", "w": "و", "y": "ي", "x": "كس",
    "v": "ف", "p": "ب", "c": "ك",
}  # fmt: skip
_START = {"a": "ا", "e": "ا", "i": "ا", "o": "ا", "u": "ا"}
_END = {"a": "ا", "e": "ي", "i": "ي", "o": "و", "u": "و"}
_WORD = re.compile(r"(?<![\w'])[a-z0-9']+(?![\w'])")
"""A whole Latin word (not part of a ``__place__`` placeholder)."""
_VOWEL_START = {"aa": "ا", "ee": "اي", "ii": "اي", "ei": "اي", "ai": "اي", "ay": "اي", "oo": "او", "ou": "او"}
_HAS_LETTER = re.compile(r"[a-z]")


def _word(word: str) -> str:
    if not _HAS_LETTER.search(word) or word.isdigit():
        return word
    out: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if i == 0 and pair in _VOWEL_START:
            out.append(_VOWEL_START[pair])
            i += 2
            continue
        if pair in _DIGRAPHS:
            out.append(_DIGRAPHS[pair])
            i += 2
            continue
        ch = word[i]
        if ch in _LETTERS:
            letter = _LETTERS[ch]
            if not out or out[-1] != letter:  # a doubled consonant is written once
                out.append(letter)
        elif i == 0 and ch in _START:
            out.append(_START[ch])
        elif i == len(word) - 1 and ch in _END:
            out.append(_END[ch])
        i += 1
    return "".join(out)


def to_arabic(text: str) -> str:
    """Each Arabizi word of lower-case ``text`` in Arabic script; other characters unchanged."""
    return _WORD.sub(lambda m: _word(m.group()), text)
