"""Arabic-first text normalisation for matching and classification, with exact offsets into the original.

This is the only module that imports camel-tools. Every rule here is a character-to-string map, so
the whole pipeline is one precomputed ``str.translate`` table plus two regular-expression passes
(elongation squeeze, whitespace collapse), and :func:`normalize` can record for each output character
the index of the original character that produced it. camel-tools' own functions work on whole
strings and lose offsets, so they are applied here once per character while the table is built
(``normalize_unicode``, ``normalize_alef_ar``, ``normalize_alef_maksura_ar``,
``normalize_teh_marbuta_ar``), never on messages.

The rules, in the order a character meets them:

* explicit Arabic folds: ٱ ٲ ٳ → ا, ؤ → و, ئ → ي, ة ۃ → ه, ى ی → ي, ک ڪ → ك, the heh forms ہ ھ ە ۀ ۂ → ه
  (plus camel-tools' أ إ آ ٱ → ا, ى → ي, ة → ه), Arabic punctuation ، ؛ ؟ ٪ ٫ ٬ ۔ → , ; ? % . , . and
  curly quotes → straight ones;
* every whitespace character (Python's ``str.isspace``: tab, newline, NBSP, thin spaces …) → space;
* control and format characters (Unicode Cc and Cf: LRM, RLM, ALM, LRE…PDF, LRI…PDI, ZWJ, ZWNJ,
  ZWSP, BOM, soft hyphen, Arabic number signs …) are removed;
* diacritics are removed: tashkeel (a superset of camel-tools' ``AR_DIAC_CHARSET``), superscript alef,
  hamza and madda marks, Quranic annotation marks, tatweel, and the combining accents of Latin script;
* decimal digits (Eastern Arabic-Indic ٠-٩, Persian ۰-۹, every other script of the BMP, and the
  mathematical digits) → 0-9;
* compatibility forms go through camel-tools' ``normalize_unicode`` (NFKC, plus ﷼ → ريال and
  ﷽ → the full basmala): presentation forms and ligatures (ﻻ → لا, ﷲ → الله), full-width and
  mathematical letters, superscripts, ``…`` → ``...``; a spacing diacritic (ﹰ, ´) is removed;
* Latin letters lose their accents (é → e) and are case-folded (ß → ss).

Then runs of three or more of the same letter are squeezed (to one for Arabic letters, so
"مرحباااا" → "مرحبا"; to two for any other letter, so "good" and "coffee" survive but
"pleeeease" → "pleease" and, a known casualty, "www" → "ww"), and whitespace runs collapse to one
space with the ends stripped.

Standalone hamza ء is kept: dropping it would merge words ("ماء" water, "ما" what) and the time
phrases of :mod:`nlu.gazetteer` list both spellings where people drop it ("مساء" / "مسا").
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from itertools import chain, compress
from typing import Final, Literal

from camel_tools.utils.normalize import (
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
    normalize_unicode,
)

__all__ = ["Normalized", "arabizi_fold", "fold", "normalize", "script", "tokens"]


@dataclass(frozen=True)
class Normalized:
    """A normalised text and where each of its characters came from.

    Attributes:
        text: the normalised text.
        offsets: ``len(text) + 1`` indices into ``original``: ``original[offsets[i]]`` is the character
            that produced ``text[i]`` (both characters of an expanded ligature point at the ligature);
            ``offsets[len(text)] == len(original)``. Never decreasing.
        original: the text as received.
    """

    text: str
    offsets: tuple[int, ...]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``original`` that the normalised span ``[start, end)`` came from.

        The result starts at the original character of ``text[start]`` and covers everything up to and
        including the original character of ``text[end - 1]``, so diacritics, tatweel and format
        characters inside the span are included. After the last kept character it also takes that
        character's own trailing diacritics and the extra letters squeezed out of an elongation
        ("مرحباااا", "كتابٌ"), but not removed characters that merely follow (spaces, marks of
        direction, a tatweel).

        Args:
            start: start of the span in ``text``.
            end: end of the span in ``text`` (exclusive).

        Returns:
            ``(start, end)`` in ``original``; an empty span maps to an empty span.

        Raises:
            ValueError: when ``0 <= start <= end <= len(text)`` does not hold.
        """
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(
                f"span [{start}, {end}) is outside the normalised text of length {len(self.text)}"
            )
        first = self.offsets[start]
        if start == end:
            return first, first
        last = self.offsets[end - 1]
        limit = self.offsets[end]
        base = self.original[last]
        stop = last + 1
        # Characters between `last` and `limit` produced no output; take those that belong to `base`.
        while stop < limit and (self.original[stop] in _TRAILING_MARKS or self.original[stop] == base):
            stop += 1
        return first, stop


# --- character rules ----------------------------------------------------------------------------


def _chars(first: int, last: int) -> frozenset[str]:
    return frozenset(chr(cp) for cp in range(first, last + 1))


_ARABIC_MARKS: Final = (
    frozenset("\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670")  # camel-tools' AR_DIAC_CHARSET
    | _chars(0x0610, 0x061A)  # honorifics and small Quranic letters
    | _chars(0x0653, 0x065F)  # madda, hamza above/below, subscript alef, other vowel marks
    | frozenset("\u0674")  # high hamza: what is left of ٵ ٶ ٷ ٸ after NFKC
    | _chars(0x06D6, 0x06DC)  # Quranic pause and annotation marks
    | _chars(0x06DF, 0x06E8)
    | _chars(0x06EA, 0x06ED)
    | _chars(0x08CA, 0x08E1)  # Arabic Extended-A marks
    | _chars(0x08E3, 0x08FF)
)
_TATWEEL: Final = "\u0640"
_LATIN_MARKS: Final = (
    _chars(0x0300, 0x036F) | _chars(0x1AB0, 0x1AFF) | _chars(0x1DC0, 0x1DFF) | _chars(0xFE20, 0xFE2F)
)
_REMOVED_MARKS: Final = _ARABIC_MARKS | _LATIN_MARKS | {_TATWEEL}
_TRAILING_MARKS: Final = _ARABIC_MARKS | _LATIN_MARKS

_EXPLICIT: Final[dict[str, str]] = {
    # letters camel-tools' normalize_* functions leave alone
    "\u0672": "ا",  # ٲ alef with wavy hamza above
    "\u0673": "ا",  # ٳ alef with wavy hamza below
    "ؤ": "و",
    "ئ": "ي",
    "\u06c3": "ه",  # ۃ teh marbuta goal (Urdu)
    "\u06cc": "ي",  # ی Farsi yeh
    "\u06a9": "ك",  # ک keheh (Persian/Urdu kaf)
    "\u06aa": "ك",  # ڪ swash kaf
    "\u06c1": "ه",  # ہ heh goal
    "\u06be": "ه",  # ھ heh doachashmee
    "\u06d5": "ه",  # ە ae
    "\u06c0": "ه",  # ۀ heh with yeh above
    "\u06c2": "ه",  # ۂ heh goal with hamza above
    # punctuation
    "،": ",",
    "؛": ";",
    "؟": "?",
    "\u066a": "%",  # ٪
    "\u066b": ".",  # ٫ decimal separator
    "\u066c": ",",  # ٬ thousands separator
    "\u06d4": ".",  # ۔ Urdu full stop
    "\u2e2e": "?",  # ⸮ reversed question mark
    "\u2018": "'",
    "\u2019": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201f": '"',
}

# Code points scanned for rules: the BMP, and of the other planes the mathematical letters and digits,
# Arabic mathematical symbols, enclosed alphanumerics, the astral format characters and tag characters
# (a test checks that no other code point needs a rule).
_SCANNED: Final = (
    range(0x0000, 0xD800),
    range(0xE000, 0x10000),
    range(0x110BD, 0x110BE),
    range(0x110CD, 0x110CE),
    range(0x13430, 0x13440),
    range(0x1BCA0, 0x1BCA4),
    range(0x1D173, 0x1D17B),
    range(0x1D400, 0x1D800),
    range(0x1EE00, 0x1EF00),
    range(0x1F100, 0x1F200),
    range(0xE0000, 0xE0080),
)
_RULE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Nd", "Mn", "Mc", "Me", "Zs", "Zl", "Zp"})


_LATIN_BLOCKS: Final = (
    range(0x0000, 0x0250),
    range(0x1E00, 0x1F00),
    range(0x2C60, 0x2C80),
    range(0xA720, 0xA800),
)
_ARABIC_BLOCKS: Final = (range(0x0600, 0x0900), range(0xFB50, 0xFE00), range(0xFE70, 0xFF00))
_PRESENTATION_FORMS: Final = _ARABIC_BLOCKS[1:]


def _camel_letters(ch: str) -> str:
    # أ إ آ ٱ → ا, ى → ي, ة → ه
    result: str = normalize_teh_marbuta_ar(normalize_alef_maksura_ar(normalize_alef_ar(ch)))
    return result


def _compat(ch: str) -> str:
    # camel-tools' normalize_unicode is NFKC plus two fixes in the Arabic presentation forms (﷼ ﷽).
    if any(ord(ch) in block for block in _PRESENTATION_FORMS):
        result: str = normalize_unicode(ch)
        return result
    return unicodedata.normalize("NFKC", ch)


def _rule(ch: str) -> str:
    """One step of the per-character rules (applied until nothing changes)."""
    explicit = _EXPLICIT.get(ch)
    if explicit is not None:
        return explicit
    if "\u0600" <= ch <= "\u06ff":
        camel = _camel_letters(ch)
        if camel != ch:
            return camel
    if ch.isspace():
        return " "
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf") or ch in _REMOVED_MARKS:
        return ""
    if category == "Nd":
        return str(unicodedata.decimal(ch))
    compat = _compat(ch)
    if compat != ch:
        if compat[0] == " " and len(compat) > 1 and all(c in _REMOVED_MARKS for c in compat[1:]):
            return ""  # a spacing diacritic: ﹰ, ´, ¨
        return compat
    if category[0] == "L" and unicodedata.name(ch, "").startswith("LATIN "):
        bare = "".join(c for c in unicodedata.normalize("NFD", ch) if c not in _LATIN_MARKS)
        return bare.casefold() if bare else ch
    return ch


def _fold_char(ch: str, memo: dict[str, str]) -> str:
    """``ch`` with the rules applied until every output character is left alone by them."""
    done = memo.get(ch)
    if done is None:
        step = _rule(ch)
        done = ch if step == ch else "".join(_fold_char(c, memo) for c in step)
        memo[ch] = done
    return done


def _candidates() -> set[str]:
    """The scanned characters some rule may apply to (a superset; the others are left alone).

    This runs at import, so the 67,000 code points go through ``map``/``compress`` loops in C, about
    three times faster than a Python loop; building the whole table takes about 0.1 s.
    """
    chars = list(map(chr, chain.from_iterable(_SCANNED)))
    found = set(compress(chars, map(_RULE_CATEGORIES.__contains__, map(unicodedata.category, chars))))
    found.update(compress(chars, map(operator.not_, map(partial(unicodedata.is_normalized, "NFKC"), chars))))
    latin = list(map(chr, chain.from_iterable(_LATIN_BLOCKS)))
    found.update(compress(latin, map(operator.ne, latin, map(str.casefold, latin))))
    found.update(compress(latin, map(operator.not_, map(partial(unicodedata.is_normalized, "NFD"), latin))))
    found.update(map(chr, chain.from_iterable(_ARABIC_BLOCKS)))
    found.update(_EXPLICIT)
    found.update(_REMOVED_MARKS)  # including the unassigned code points of the mark blocks
    return found


def _scan() -> tuple[dict[str, str], set[str]]:
    """The characters the rules change, and the combining marks they keep (for the tokenizer)."""
    changed: dict[str, str] = {}
    marks: set[str] = set()
    memo: dict[str, str] = {}
    for ch in _candidates():
        folded = _fold_char(ch, memo)
        if folded != ch:
            changed[ch] = folded
        elif unicodedata.category(ch)[0] == "M":
            marks.add(ch)
    return changed, marks


def _char_class(chars: set[str]) -> str:
    points = sorted(ord(c) for c in chars)
    parts: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        parts.append(f"\\U{points[i]:08x}" if i == j else f"\\U{points[i]:08x}-\\U{points[j]:08x}")
        i = j + 1
    return "[" + "".join(parts) + "]"


_CHAR_MAP, _KEPT_MARKS = _scan()
# Identity entries for the scripts messages are written in, so str.translate finds every common
# character in the table instead of paying for a failed look-up.
_TABLE: Final[dict[int, str]] = {
    **{cp: chr(cp) for cp in (*range(0x0000, 0x0250), *range(0x0600, 0x0700))},
    **{ord(k): v for k, v in _CHAR_MAP.items()},
}
_DELETED: Final = frozenset(k for k, v in _CHAR_MAP.items() if not v)


def _is_arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u08ff"


def _squeezed_length(ch: str, run: int) -> int:
    """How many of a run of ``run`` (three or more) copies of ``ch`` the elongation squeeze keeps."""
    if not ch.isalpha():
        return run
    return 1 if _is_arabic(ch) else 2


def _squeeze(match: re.Match[str]) -> str:
    run = match.group()
    return run[: _squeezed_length(run[0], len(run))]


# Three or more of the same character. Only letters are squeezed (see _squeezed_length), but any
# character in the pattern is four times faster than a letter class, and runs are rare.
_RUN: Final = re.compile(r"(.)\1\1+", re.DOTALL)
_CLEANUP: Final = re.compile(r"(?P<edge>^ +| +\Z)|(?P<gap>  +)|(?P<run>(.)\4\4+)", re.DOTALL)


def _cleanup(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    """Squeeze elongations and collapse whitespace, carrying the offsets along."""
    kept: list[str] = []
    kept_offsets: list[int] = []
    position = 0
    for match in _CLEANUP.finditer(text):
        start, end = match.span()
        if match.lastgroup == "gap":
            end_kept = start + 1
        elif match.lastgroup == "run":
            end_kept = start + _squeezed_length(text[start], end - start)
        else:
            end_kept = start
        kept.append(text[position:end_kept])
        kept_offsets.extend(offsets[position:end_kept])
        position = end
    kept.append(text[position:])
    kept_offsets.extend(offsets[position:])
    return "".join(kept), kept_offsets


# --- public functions ---------------------------------------------------------------------------


def fold(text: str) -> str:
    """The normalised form of ``text`` without offsets: ``fold(text) == normalize(text).text``.

    Used as the matching key of names and aliases, so it is fast (one ``str.translate`` and two passes
    in C) and idempotent.
    """
    folded = _RUN.sub(_squeeze, text.translate(_TABLE))
    return " ".join(folded.split())


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching and classification, keeping offsets into it.

    See the module docstring for the rules. The result never expands a character except a
    compatibility ligature (ﻻ → لا, ﷲ → الله), whose output characters all point at the ligature.
    Never raises.

    Args:
        text: any text.

    Returns:
        the normalised text with its offsets into ``text``.
    """
    mapped = text.translate(_TABLE)
    removed = list(map(_DELETED.__contains__, text))
    if len(mapped) == len(text) - sum(removed):  # no expansion: each kept character maps to one
        offsets = list(compress(range(len(text)), map(operator.not_, removed)))
    else:
        offsets = [index for index, ch in enumerate(text) for _ in range(len(_TABLE.get(ord(ch), ch)))]
    if "  " in mapped or mapped[:1] == " " or mapped[-1:] == " " or _RUN.search(mapped) is not None:
        mapped, offsets = _cleanup(mapped, offsets)
    offsets.append(len(text))
    return Normalized(mapped, tuple(offsets), text)


# --- Arabizi ------------------------------------------------------------------------------------

# Arabizi writes Arabic sounds with digits that look like the letters. Choices: 2 (hamza) and 3 (ain)
# become the vowel "a" that romanised names spell them with ("3ala" → "ala"); 5 → kh, 6 → t (ط),
# 7 → h (ح), 8 → q (ق; in the Gulf "a8rab" is aqrab), 9 → s (ص); with an apostrophe the dotted
# letter: 3' → gh (غ), 7' → kh (خ), 6' → z (ظ), 9' → d (ض). 4 (sometimes ش) is too rare to guess.
_ARABIZI_DIGITS: Final = {
    "2": "a",
    "3": "a",
    "5": "kh",
    "6": "t",
    "7": "h",
    "8": "q",
    "9": "s",
    "3'": "gh",
    "7'": "kh",
    "6'": "z",
    "9'": "d",
}
_ASCII_WORD: Final = re.compile(r"[0-9a-z']+")
_DIGIT_BESIDE_LETTER: Final = re.compile(r"[a-z'][0-9]|[0-9][a-z']")
_ARABIZI_DIGIT: Final = re.compile(r"(?<![0-9])(?:[3796]'|[2356789])(?![0-9])")
_NUMBER_WITH_UNIT: Final = re.compile(r"[0-9]+(?:st|nd|rd|th|am|pm|h|hr|hrs|min|mins|m|km|k|kg|g|x|s|sr|sar)")
_VOWEL_RUN: Final = re.compile(r"([aeiou])\1+")


def _arabizi_digit(match: re.Match[str]) -> str:
    return _ARABIZI_DIGITS[match.group()]


def _arabizi_word(match: re.Match[str]) -> str:
    word = match.group()
    if word.isalpha() or not word.strip("0123456789'") or _NUMBER_WITH_UNIT.fullmatch(word):
        return word
    return _ARABIZI_DIGIT.sub(_arabizi_digit, word)


def arabizi_fold(text: str) -> str:
    """Fold Arabizi (Arabic in Latin letters and digits) towards how romanised aliases spell it.

    ``text`` is folded first (:func:`fold`). Then, in each word of Latin letters, digits and
    apostrophes that has at least one Latin letter, a lone Arabizi digit becomes its letter
    (2, 3 → a; 5 → kh; 6 → t; 7 → h; 8 → q; 9 → s; 3' → gh; 7' → kh; 6' → z; 9' → d) and runs of the
    same vowel shrink to one ("feen" → "fen", "3ala" → "aala" → "ala"). Numbers are never touched:
    not pure numbers ("940", "9 pm"), not runs of two or more digits ("covid19"), not a number with a
    unit ("9pm", "3rd", "5km"). Arabic-script words pass through unchanged.

    Args:
        text: any text.

    Returns:
        the folded text; characters may expand, so there are no offsets.
    """
    folded = fold(text)
    if _DIGIT_BESIDE_LETTER.search(folded) is not None:
        # a digit may become a third "s" or "h" in a row: squeeze again, as fold() would
        folded = _RUN.sub(_squeeze, _ASCII_WORD.sub(_arabizi_word, folded))
    # A vowel run is made of Latin letters, so it is always inside a word that has one.
    return _VOWEL_RUN.sub(r"\1", folded)


# --- tokens and script --------------------------------------------------------------------------

# camel-tools' simple_word_tokenize's splitting, without importing it (through camel_tools.utils.charsets
# it scans all 1.1 million code points, about a second per process): words of letters, digits and
# marks; every other visible character (punctuation, symbol, emoji) is a token of its own.
_MARK_CLASS: Final = _char_class(_KEPT_MARKS)
_TOKEN: Final = re.compile(
    "[\U0001f1e6-\U0001f1ff]{2}"  # a flag: two regional indicators
    f"|(?:[^\\W_]|{_MARK_CLASS})+"  # a word or number, with any combining marks the rules kept
    f"|\\S(?:{_MARK_CLASS}|[\U0001f3fb-\U0001f3ff])*"  # anything else, with a variation selector or skin tone
)
_ARABIC_LETTERS: Final = frozenset(
    ch for block in _ARABIC_BLOCKS[:1] for ch in map(chr, block) if ch.isalpha() and ch != _TATWEEL
)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """The tokens of ``fold(text)`` with their spans in it.

    Words and numbers are single tokens (letters and digits together, as in "a8rab" or "9pm");
    punctuation, symbols and emoji are tokens of their own. Map a span back to ``text`` with
    ``normalize(text).span(start, end)``.

    Args:
        text: any text.

    Returns:
        ``(token, start, end)`` for each token, in order.
    """
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(fold(text))]


def script(text: str) -> Literal["ar", "en", "mixed", "none"]:
    """The script most of the letters of ``text`` are written in.

    Letters are counted after :func:`fold`. "ar" is Arabic script (Arabic, Persian, Urdu), "en" every
    other script (mostly Latin, so English or Arabizi). A script with at least two thirds of the
    letters wins; below that the text is "mixed". Text with no letters (emoji, digits, punctuation)
    is "none".

    Args:
        text: any text.

    Returns:
        "ar", "en", "mixed" or "none".
    """
    folded = fold(text)
    letters = sum(map(str.isalpha, folded))
    if not letters:
        return "none"
    arabic = sum(map(_ARABIC_LETTERS.__contains__, folded))
    if 3 * arabic >= 2 * letters:
        return "ar"
    if 3 * (letters - arabic) >= 2 * letters:
        return "en"
    return "mixed"
