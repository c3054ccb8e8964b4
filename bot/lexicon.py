"""What the dialogue reads in a message besides the NLU: set phrases, frustration, filters, the question.

The word lists live in ``data/dialogue/words.yml``. Matching is on whole normalised words, so "ورحمة" inside
"السلام عليكم ورحمة الله" is part of a greeting and "open" inside "opening" is nothing. Everything here is
a pure function of the text: the engine and handlers decide what to do with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from nlu.normalize import fold

__all__ = ["Lexicon", "Phrases", "Span", "words"]

_WORD = re.compile(r"[^\W_]+(?:['’/][^\W_]+)*", re.UNICODE)
_SENTENCE = re.compile(r"[^.!?؟\n]+[.!?؟]*")
_COMMA = re.compile(r"[،,;؛]\s*")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_QUESTION = re.compile(r"[?؟]")
MAX_NAME_WORDS = 4
MAX_ORDINAL_WORDS = 4
MIN_NAME_LETTERS = 3
LONG_MESSAGE_WORDS = 14
"""A message this long may tell a story before it asks: the question is looked for in its clauses."""


@dataclass(frozen=True)
class Span:
    """One word of a message: its folded form and where it sits in the original text."""

    word: str
    start: int
    end: int


def words(text: str) -> list[Span]:
    """The words of ``text``, folded, with their offsets into ``text``."""
    out = []
    for match in _WORD.finditer(text):
        folded = fold(match.group()).lower()
        if folded:
            out.append(Span(folded, match.start(), match.end()))
    return out


def _names(items: Iterable[object]) -> dict[str, str]:
    arabic = [str(i) for i in items if _ARABIC.search(str(i))]
    latin = [str(i) for i in items if not _ARABIC.search(str(i))]
    return {"ar": (arabic or latin or [""])[0], "en": (latin or arabic or [""])[0]}


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(s.word for s in words(str(text)))


_CLITICS = ("وبال", "وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف")
"""Arabic prefixes a word may carry ("للمأكولات", "والبحرية", "بالروضة"); Latin words carry none."""


@lru_cache(maxsize=65536)
def _variants(word: str) -> frozenset[str]:
    """``word`` and the word under its clitics; cached (bounded: words come from users)."""
    out = {word}
    for prefix in _CLITICS:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            out.add(word[len(prefix) :])
    return frozenset(out | {w[2:] for w in out if w.startswith("ال") and len(w) >= 5})


def _bare(target: str) -> str:
    return target.removeprefix("ال") if len(target) >= 5 else target


def _matches(spans: Sequence[Span], index: int, phrase: tuple[str, ...]) -> bool:
    if index + len(phrase) > len(spans):
        return False
    return all(
        spans[index + i].word == target or _bare(target) in _variants(spans[index + i].word)
        for i, target in enumerate(phrase)
    )


@dataclass(frozen=True)
class Phrases:
    """A set of phrases (each a sequence of folded words), found as whole words."""

    phrases: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, items: Iterable[object]) -> Phrases:
        """Phrases from strings (longest first, so the longest match wins)."""
        parsed = {_phrase(str(item)) for item in items}
        return cls(tuple(sorted((p for p in parsed if p), key=len, reverse=True)))

    @cached_property
    def _by_first_word(self) -> dict[str, tuple[int, ...]]:
        """Phrase positions by the forms their first word can match, so a word tries only its phrases."""
        index: dict[str, list[int]] = {}
        for position, phrase in enumerate(self.phrases):
            for key in {phrase[0], _bare(phrase[0])}:
                index.setdefault(key, []).append(position)
        return {key: tuple(positions) for key, positions in index.items()}

    def find(self, spans: Sequence[Span]) -> list[tuple[int, int]]:
        """Where the phrases occur: (first word index, end word index), left to right, not overlapping."""
        found = []
        index = 0
        by_first = self._by_first_word
        while index < len(spans):
            # A phrase can start here only if its first word (or that word without "ال") is one of this
            # word's forms; trying those in list order (longest first) keeps the longest match winning.
            positions = sorted({p for form in _variants(spans[index].word) for p in by_first.get(form, ())})
            for phrase in (self.phrases[p] for p in positions):
                if _matches(spans, index, phrase):
                    found.append((index, index + len(phrase)))
                    index += len(phrase)
                    break
            else:
                index += 1
        return found

    def among(self, text: str) -> bool:
        """Whether any phrase occurs in ``text``."""
        return bool(self.find(words(text)))

    def leading(self, spans: Sequence[Span]) -> int:
        """How many words at the start are phrases (repeated, e.g. "hi, good evening")."""
        index = 0
        while index < len(spans):
            for phrase in self.phrases:
                if tuple(s.word for s in spans[index : index + len(phrase)]) == phrase:
                    index += len(phrase)
                    break
            else:
                break
        return index


@dataclass(frozen=True)
class Lexicon:
    """The dialogue's word lists (``data/dialogue/words.yml``)."""

    greetings: Phrases = Phrases()
    frustration: Phrases = Phrases()
    person_request: Phrases = Phrases()
    cancel: Phrases = Phrases()
    recommend: Phrases = Phrases()
    outing: Phrases = Phrases()
    outing_categories: tuple[str, ...] = ()
    filters: Mapping[str, Phrases] = field(default_factory=dict)
    cuisines: Mapping[str, Phrases] = field(default_factory=dict)
    cuisine_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """cuisine id → {"ar": first Arabic word, "en": first English word} from its list."""
    where: Phrases = Phrases()
    route: Phrases = Phrases()
    contact: Phrases = Phrases()
    ordinals: tuple[tuple[Phrases, int], ...] = ()
    not_a_name: Phrases = Phrases()
    arabizi: Phrases = Phrases()
    english: Phrases = Phrases()
    wrong_info: Phrases = Phrases()
    related_services: tuple[tuple[Phrases, str], ...] = ()

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read ``path``; a missing file gives empty lists (the NLU alone decides then)."""
        if not path.exists():
            return cls()
        doc: Mapping[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        outing = doc.get("outing") or {}
        return cls(
            greetings=Phrases.of(doc.get("greetings") or ()),
            frustration=Phrases.of(doc.get("frustration") or ()),
            person_request=Phrases.of(doc.get("person_request") or ()),
            cancel=Phrases.of(doc.get("cancel") or ()),
            recommend=Phrases.of(doc.get("recommend") or ()),
            outing=Phrases.of(outing.get("words") or ()),
            outing_categories=tuple(outing.get("categories") or ()),
            filters={k: Phrases.of(v) for k, v in (doc.get("filters") or {}).items()},
            cuisines={k: Phrases.of(v) for k, v in (doc.get("cuisines") or {}).items()},
            cuisine_names={k: _names(v) for k, v in (doc.get("cuisines") or {}).items()},
            where=Phrases.of(doc.get("where") or ()),
            route=Phrases.of(doc.get("route") or ()),
            contact=Phrases.of(doc.get("contact") or ()),
            ordinals=tuple(
                (Phrases.of(items), int(number)) for number, items in (doc.get("ordinals") or {}).items()
            ),
            not_a_name=Phrases.of(doc.get("not_a_name") or ()),
            arabizi=Phrases.of(doc.get("arabizi") or ()),
            english=Phrases.of(doc.get("english") or ()),
            wrong_info=Phrases.of(doc.get("wrong_info") or ()),
            related_services=tuple(
                (Phrases.of(item.get("words") or ()), str(item["service"]))
                for item in doc.get("related_services") or ()
            ),
        )

    def split_greeting(self, text: str) -> tuple[str, str]:
        """(the leading greeting, the rest of the message); the greeting is "" when there is none."""
        spans = words(text)
        count = self.greetings.leading(spans)
        if count == 0:
            return "", text
        cut = spans[count - 1].end
        rest = text[cut:].lstrip(" \t\n،,.!؟?-—:;؛")
        return text[:cut], rest

    def ordinal(self, text: str) -> int | None:
        """Which row a short answer picks ("the second one", "الثاني", "رقم ٣"), or None."""
        spans = words(text)
        if len(spans) > MAX_ORDINAL_WORDS:
            return None
        return next((number for phrases, number in self.ordinals if phrases.find(spans)), None)

    def only_cancel(self, text: str) -> bool:
        """The message is a cancel word and little else ("cancel", "رجعني للبوت", "الغ لو سمحت")."""
        spans = words(text)
        found = self.cancel.find(spans)
        covered = sum(end - start for start, end in found)
        return bool(found) and len(spans) - covered <= 2

    def wanted_filters(self, text: str) -> list[str]:
        """The attribute filters a question asks for (open_now, open_24h, family_section …)."""
        spans = words(text)
        wanted = [name for name, phrases in self.filters.items() if phrases.find(spans)]
        if "open_24h" in wanted and "open_now" in wanted:
            wanted.remove("open_now")  # "مفتوح 24 ساعة" asks about all-night, not about now
        return wanted

    def wanted_cuisines(self, text: str) -> list[str]:
        """Cuisine ids a question names ("مندي", "seafood")."""
        spans = words(text)
        return [name for name, phrases in self.cuisines.items() if phrases.find(spans)]

    def unknown_name(self, text: str, start: int, end: int) -> str | None:
        """The name given with a kind of place at ``text[start:end]`` ("مستشفى عرفان", "Erfan hospital").

        Arabic puts the name after the kind, English before it; None when the words around the kind are
        only question words, places in the city or times ("وين مستشفى في الروضة", "nearest hospital").
        """
        spans = words(text)
        after = [s for s in spans if s.start >= end]
        before = [s for s in spans if s.end <= start]
        clause = re.split(r"[?؟.,،!]", text[end:], maxsplit=1)[0]
        named = [s for s in after if s.end <= end + len(clause)]
        taken: list[Span] = []
        for span in named:
            if self._not_a_name(span):
                break
            taken.append(span)
        if not taken and before:
            for span in reversed(before):
                if self._not_a_name(span) or _ARABIC.search(span.word):
                    break
                taken.insert(0, span)
            if taken:
                return text[taken[0].start : end].strip()
        if not taken or len(taken) > MAX_NAME_WORDS:
            return None
        return text[start : taken[-1].end].strip()

    def leftover_name(self, text: str, skip: Sequence[tuple[int, int]]) -> str | None:
        """What is left of a question once its question words, times and filters are set aside.

        "جدة بارك بيكون فاتح الساعة 11 بالليل؟" leaves "جدة بارك": a name Dalil may not know. None when
        nothing (or too much) is left.
        """
        spans = words(text)
        covered = self._question_words(spans)
        left = [
            s
            for i, s in enumerate(spans)
            if i not in covered and not any(a <= s.start < b for a, b in skip) and not s.word.isdigit()
        ]
        if not 1 <= len(left) <= MAX_NAME_WORDS or max(len(s.word) for s in left) < MIN_NAME_LETTERS:
            return None
        return " ".join(text[s.start : s.end] for s in left)

    def name_part(self, text: str) -> str:
        """``text`` without its question words ("wen mol al3arab" → "mol al3arab"), for a name search."""
        spans = words(text)
        covered = self._question_words(spans)
        return " ".join(text[s.start : s.end] for i, s in enumerate(spans) if i not in covered)

    def _question_words(self, spans: Sequence[Span]) -> set[int]:
        """Indices of the words that belong to phrases which are not names (several-word ones too)."""
        lists = (
            self.not_a_name,
            self.where,
            self.route,
            self.recommend,
            self.wrong_info,
            *self.filters.values(),
            *self.cuisines.values(),
        )
        return {i for phrases in lists for a, b in phrases.find(spans) for i in range(a, b)}

    def _not_a_name(self, span: Span) -> bool:
        return bool(self._question_words([span]))

    def related_service(self, name: str) -> str | None:
        """The service that answers for a body with this name (its phone when the body has none)."""
        spans = words(name)
        return next((service for phrases, service in self.related_services if phrases.find(spans)), None)


def question_clause(text: str) -> str:
    """In a long message, the part that asks: the last sentence with a question mark, else the last one.

    A story before the question ("we came from Riyadh with the kids, we ate at a restaurant …") is not
    the request. A short message is its own question; a long last sentence is cut at its last comma.
    """
    if len(words(text)) < LONG_MESSAGE_WORDS:
        return text
    sentences = [s for s in _SENTENCE.findall(text) if len(words(s)) >= 2]
    if len(sentences) < 2 and not _COMMA.search(text):
        return text
    asked = [s for s in sentences if _QUESTION.search(s)]
    chosen = str((asked or sentences or [text])[-1]).strip()
    if len(words(chosen)) >= LONG_MESSAGE_WORDS:
        parts = [p for p in _COMMA.split(chosen) if len(words(p)) >= 2]
        if parts:
            chosen = parts[-1].strip()
    return chosen
