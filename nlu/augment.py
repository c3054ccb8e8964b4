"""Robustness variants of a message: the slips and spellings real users type.

Each variant keeps the message's intent and its entities (their spans are moved with the text), so a
variant is both extra training data and a test of robustness:

* ``typo``: one letter dropped, doubled or swapped with its neighbour in one word of four letters or
  more, outside entity names (the gazetteer's fuzzy matching covers those);
* ``spelling``: the Arabic letters people write interchangeably: أ إ آ ↔ ا, ة ↔ ه, ى ↔ ي (a test
  that normalisation folds them);
* ``arabizi``: Arabic script written in Latin letters and digits the way Arabizi does (ع → 3,
  ح → 7, خ → kh, ق → g, ط → 6, ص → s …), with the long vowels as vowels;
* ``digits``: Western digits as Eastern Arabic-Indic ones (٠-٩).

Variants are deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from nlu.training_data import Annotation, Example

__all__ = ["KINDS", "arabizi", "variant", "variants"]

_ARABIZI = {
    "ا": "a", "أ": "a", "إ": "e", "آ": "a", "ء": "2", "ؤ": "2", "ئ": "2",
    "ب": "b", "ت": "t", "ث": "th", "ج": "j", "ح": "7", "خ": "kh", "د": "d", "ذ": "th",
    "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "6", "ظ": "z",
    "ع": "3", "غ": "gh", "ف": "f", "ق": "g", "ك": "k", "ل": "l", "م": "m", "ن": "n",
    "ه": "h", "ة": "a", "و": "o", "ي": "i", "ى": "a", "؟": "?", "،": ",",
}  # fmt: skip
_WORD_START = {"ا": "أ", "أ": "ا", "إ": "ا", "آ": "ا"}
_WORD_END = {"ة": "ه", "ه": "ة", "ى": "ي", "ي": "ى"}
_ARABIZI_START = {"و": "w", "ي": "y"}
_EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_WORD = re.compile(r"[^\W\d_]{4,}")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
KINDS = ("typo", "spelling", "arabizi", "digits")


def arabizi(text: str) -> str:
    """``text`` with its Arabic letters written the Arabizi way ("وين" → "win", "عند" → "3nd")."""
    return "".join(_arabizi_at(text, i) for i in range(len(text)))


def _outside(example: Example, start: int, end: int) -> bool:
    return not any(a.start < end and start < a.end for a in example.entities)


def _typo(example: Example, rng: random.Random) -> Example | None:
    words = [m for m in _WORD.finditer(example.text) if _outside(example, m.start(), m.end())]
    if not words:
        return None
    word = rng.choice(words)
    i = rng.randrange(word.start() + 1, word.end() - 1)
    text = example.text
    kind = rng.choice(("drop", "double", "swap"))
    if kind == "drop":
        new, shift = text[:i] + text[i + 1 :], -1
    elif kind == "double":
        new, shift = text[:i] + text[i] + text[i:], 1
    else:
        new, shift = text[:i] + text[i + 1] + text[i] + text[i + 2 :], 0
    moved = tuple(
        a if a.end <= i else Annotation(a.entity, a.value, a.start + shift, a.end + shift)
        for a in example.entities
    )
    return replace(example, text=new, entities=moved)


def _letter(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isalpha()


def _spelling(text: str, i: int, rng: random.Random) -> str:
    ch = text[i]
    if ch in _WORD_START and not _letter(text, i - 1) and rng.random() < 0.7:
        return _WORD_START[ch]
    if ch in _WORD_END and not _letter(text, i + 1) and _letter(text, i - 1) and rng.random() < 0.7:
        return _WORD_END[ch]
    return ch


def _arabizi_at(text: str, i: int) -> str:
    ch = text[i]
    if ch in _ARABIZI_START and not _letter(text, i - 1):
        return _ARABIZI_START[ch]
    return _ARABIZI.get(ch, ch)


def _digit(text: str, i: int) -> str:
    ch = text[i]
    if "0" <= ch <= "9" and not (_letter(text, i - 1) or _letter(text, i + 1)):
        return ch.translate(_EASTERN)
    return ch


def _per_char(example: Example, mapping: Callable[[str, int], str]) -> Example | None:
    """A variant made by rewriting each character; entity spans follow the rewritten lengths."""
    pieces = [mapping(example.text, i) for i in range(len(example.text))]
    text = "".join(pieces)
    if text == example.text:
        return None
    starts = [0]
    for piece in pieces:
        starts.append(starts[-1] + len(piece))
    moved = tuple(Annotation(a.entity, a.value, starts[a.start], starts[a.end]) for a in example.entities)
    return replace(example, text=text, entities=moved)


def variant(example: Example, kind: str, rng: random.Random) -> Example | None:
    """One ``kind`` variant of ``example`` (see :data:`KINDS`), or None when it does not apply."""
    if kind == "typo":
        return _typo(example, rng)
    if kind == "spelling":
        if not _ARABIC.search(example.text):
            return None
        return _per_char(example, lambda text, i: _spelling(text, i, rng))
    if kind == "arabizi":
        if not _ARABIC.search(example.text):
            return None
        return _per_char(example, _arabizi_at)
    if kind == "digits":
        return _per_char(example, _digit)
    raise ValueError(f"unknown variant kind {kind!r}; choose one of {', '.join(KINDS)}")


def variants(
    examples: Sequence[Example], kinds: Sequence[str] = KINDS, seed: int = 0, share: float = 1.0
) -> list[Example]:
    """Applicable variants of ``examples`` (of a random ``share`` of them), tagged ``<source>~<kind>``.

    A variant keeps its example's validation group: it is a paraphrase of it.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible variants, not security
    out: list[Example] = []
    for example in examples:
        for kind in kinds:
            if share < 1.0 and rng.random() >= share:
                continue
            made = variant(example, kind, rng)
            if made is not None and made.text != example.text:
                out.append(replace(made, source=f"{example.source}~{kind}"))
    return out
