"""Entity extraction from the knowledge base: places, categories, districts and services, plus time phrases.

Every name and alias is cut into canonical tokens (normalised, definite article and attached
prepositions removed), and a message is matched token by token: exact first, then Arabizi folding, then
rapidfuzz against the gazetteer's vocabulary for longer tokens (typos). Phrases are matched longest
first over whole tokens, so an entity never fires inside an unrelated word. Time phrases are found, and
read into what they mean, by :mod:`nlu.times`. Offsets always index the user's original text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.store import Store
from nlu.normalize import Normalized, arabizi_fold, fold
from nlu.times import TIME_PHRASE, find
from nlu.types import Entity

__all__ = ["Gazetteer", "GazetteerEntry", "canonical_tokens", "latin_key"]

_TOKEN = re.compile(r"[^\W_]+")
_AR_PREFIXES = ("وبال", "ولل", "وال", "بال", "فال", "كال", "لل", "ال", "وب", "ول", "و", "ب", "ل", "ف", "ك")
_LATIN_PREFIXES = ("al", "el")
_DROP = frozenset({"al", "el", "il", "the", "ال"})
_LATIN_ARTICLES = frozenset({"al", "el"})
_SUN_ARTICLES = frozenset({"ar", "as", "ash", "at", "az", "ad", "an", "adh", "ath"})
_PRIORITY = {"place": 4, "service": 3, "district": 2, "category": 1}
_CACHE_LIMIT = 50_000
_HEAD_WORDS = frozenset({"مول", "سنتر", "بلازا"})
_SINGLE_WORD_FUZZY = 0.9

# Greetings, blessings and set phrases, in folded form: no entity is read inside them, so "ورحمة" in
# "السلام عليكم ورحمة الله" is not the district Al-Rahmah, nor "السلامة" in "مع السلامة" As-Salamah.
_SET_PHRASE = re.compile(
    r"(?<![^\W_])(?:"
    r"(?:و)?(?:عليكم )?السلام(?: عليكم)?(?: و ?رحمه الله)?(?: و ?بركاته)?"
    r"|و ?رحمه الله(?: و ?بركاته)?|(?:الله )?يرحم(?:ه|ها|ك|هم)?(?: الله)?|رحمه الله|رحمها الله"
    r"|(?:الحمد لله )?(?:مع|علي|ع) السلامه|بالسلامه|(?:الله )?يسلم(?:ك|كم)?|سلامات"
    r"|(?:صباح|مساء|مسا) (?:الخير|النور|الورد|الفل|الياسمين)"
    r"|(?:ان|اذا) شاء الله|ما شاء الله|الحمد لله|بسم الله|سبحان الله|تبارك الله|باذن الله|لا اله الا الله"
    r"|(?:الله )?يعطيك(?:م)? (?:العافيه|الصحه)|(?:الله )?يعافيك(?:م)?|جزاك(?:م)? الله خير(?:ا)?"
    r"|الله يجزاك(?:م)? (?:ب)?(?:ال)?خير|بارك الله فيك(?:م)?|(?:الله )?يحفظك(?:م)?|(?:في|ف) امان الله"
    r"|(?:الله )?(?:يحييك|حياك|يخليك|يسعدك|يوفقك)(?:م)?(?: الله)?"
    r"|in ?sha ?allah|insha'?allah|inshalla|mashallah|masha'?allah|alhamdulill?ah|bismillah"
    r"|(?:wa )?ra[7h]mat ?(?:u|o)?llah(?: wa ?barakatu[h]?)?"
    r"|(?:as|al|el)? ?salamu? (?:alaikum|alaykum|3alaykum|3alaikum)"
    r"|ma3a? ?(?:al|el|l|as)?[ -]?salama[h]?|ma3 ?(?:al|el)?salama[h]?"
    r")(?![^\W_])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GazetteerEntry:
    """A surface form that names an entity value."""

    entity: str
    value: str
    surface: str


def _clitic(token: str, prefix: str) -> int:
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


def _sun_article(article: str, word: str) -> bool:
    """Whether ``article`` is "al" written as the sun letter it became ("ar rawdah", "as-safa")."""
    return article in _SUN_ARTICLES and word.startswith(article[1:])


def _key(token: str) -> str:
    return latin_key(token) if token.isascii() and not token.isdigit() else token


def latin_key(token: str) -> str:
    """A Latin spelling's skeleton, so "rawda", "rawdah", "rowdha" and "al-rawdah" meet.

    "ou"/"oo"/"o" → "u", "ee"/"ii"/"e" → "i", Arabizi-folded, doubled letters single, a final "h" after
    a vowel dropped ("salamah" → "salama").
    """
    key = token.lower().replace("ou", "u").replace("oo", "u").replace("ee", "i").replace("ii", "i")
    key = arabizi_fold(key).replace("o", "u").replace("e", "i")
    key = re.sub(r"(.)\1+", r"\1", key)
    if len(key) > 3 and key.endswith("h") and key[-2] in "aeiou":
        key = key[:-1]
    return key


def _swapped(name: str) -> str:
    """The name with its head word moved: "مول العرب" is also said "العرب مول"; "" for other names."""
    words = name.split()
    if len(words) < 2:
        return ""
    if words[0] in _HEAD_WORDS:
        return " ".join([*words[1:], words[0]])
    if words[-1] in _HEAD_WORDS:
        return " ".join([words[-1], *words[:-1]])
    return ""


def _bare(token: str) -> str:
    for prefix in ("ال",):
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            return token[len(prefix) :]
    return token


def _is_extension(a: str, b: str) -> bool:
    """One word is the other plus letters at an end: a different word more often than a typo."""
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return len(short) < len(long_) and len(short) < 7 and (long_.startswith(short) or long_.endswith(short))


def _outranks(entry: GazetteerEntry, current: GazetteerEntry) -> bool:
    """Which meaning a phrase keeps when two records share it.

    Places beat services beat districts beat categories, except that a kind beats a district of the
    same words: "شاطئ" asked alone means a beach; the district is still found as "حي الشاطئ".
    """
    if {entry.entity, current.entity} == {"category", "district"}:
        return entry.entity == "category"
    return _PRIORITY[entry.entity] > _PRIORITY[current.entity]


def canonical_tokens(text: str) -> tuple[str, ...]:
    """The tokens a name is matched on: folded, article removed, one-letter and article tokens dropped."""
    out = []
    tokens = _TOKEN.findall(fold(text))
    for i, token in enumerate(tokens):
        if token in _DROP or (len(token) < 2 and not token.isdigit()):
            continue
        if i + 1 < len(tokens) and _sun_article(token, tokens[i + 1]):
            continue
        out.append(_key(_bare(token)))
    return tuple(out)


class Gazetteer:
    """Longest-match entity extraction over canonical tokens, with fuzzy tolerance for typos."""

    def __init__(self, entries: Iterable[GazetteerEntry], fuzzy_cutoff: float = 80.0) -> None:
        """Index ``entries``; tokens of four letters or more match with rapidfuzz ratio ≥ ``fuzzy_cutoff``."""
        self.phrases: dict[tuple[str, ...], GazetteerEntry] = {}
        for entry in entries:
            key = canonical_tokens(entry.surface)
            if not key:
                continue
            current = self.phrases.get(key)
            if current is None or _outranks(entry, current):
                self.phrases[key] = entry
        self.vocab = {token for key in self.phrases for token in key}
        self._fuzzy_vocab = sorted(t for t in self.vocab if len(t) >= 4 and not t.isdigit())
        self.max_len = max((len(k) for k in self.phrases), default=1)
        self.fuzzy_cutoff = fuzzy_cutoff
        self._cache: dict[str, tuple[str, float, int] | None] = {}
        listing = "\n".join(f"{' '.join(k)}\t{e.entity}\t{e.value}" for k, e in sorted(self.phrases.items()))
        patterns = f"{TIME_PHRASE.pattern}\n{_SET_PHRASE.pattern}"
        self.digest = hashlib.sha256(f"{patterns}\n{listing}".encode()).hexdigest()[:16]
        """Identifies what this gazetteer finds (models trained with it are named by it)."""

    @classmethod
    def from_store(cls, store: Store, synonyms: Mapping[str, str] | None = None) -> Gazetteer:
        """Every place, category, district and service name and alias in ``store``.

        Args:
            store: the knowledge index.
            synonyms: extra surface → value pairs (Rasa ``synonym`` blocks) for values the store knows.
        """
        entries: list[GazetteerEntry] = []

        def add(entity: str, value: str, names: Sequence[str]) -> None:
            entries.extend(GazetteerEntry(entity, value, n) for n in names)

        for place_id, names in store.places.named():  # a synced "صيدلية" has none: the word stays the kind
            add("place", place_id, [*names, *(_swapped(n) for n in names if _swapped(n))])
        for category in store.categories.values():
            names = [category.name.ar, category.name.en, *category.synonyms.ar, *category.synonyms.en]
            add("category", category.id, names)
        for district in store.districts.values():
            names = [district.name.ar, district.name.en, *district.aliases.ar, *district.aliases.en]
            add("district", district.id, names)
        for service in store.services.values():
            add(
                "service",
                service.id,
                [service.name.ar, service.name.en, *service.aliases.ar, *service.aliases.en],
            )
        kinds = {place_id: "place" for place_id, _names in store.places.named()}
        kinds.update(dict.fromkeys(store.services, "service"))
        kinds.update(dict.fromkeys(store.categories, "category"))
        kinds.update(dict.fromkeys(store.districts, "district"))
        for surface, value in (synonyms or {}).items():
            if value in kinds:
                entries.append(GazetteerEntry(kinds[value], value, surface))
        return cls(entries)

    def _canon(self, token: str) -> tuple[str, float, int] | None:
        """The vocabulary token ``token`` stands for, with the match score and the clitic length.

        The clitic length is how many of its first letters stay outside the name ("و" of "والصيدلية").
        """
        token = _key(token)
        if token in self.vocab:
            return token, 100.0, 0
        cached = self._cache.get(token, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        result = self._resolve(token)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = result
        return result

    def _resolve(self, token: str) -> tuple[str, float, int] | None:
        prefixes = _LATIN_PREFIXES if token.isascii() else _AR_PREFIXES
        for prefix in prefixes:
            rest = token[len(prefix) :]
            if token.startswith(prefix) and len(rest) >= 2 and rest in self.vocab:
                return rest, 100.0, _clitic(token, prefix)
        if token.isascii():
            folded = arabizi_fold(token)
            if folded != token and folded in self.vocab:
                return folded, 97.0, 0
        if len(token) < 4 or token.isdigit():
            return None
        bare, skip = token, 0
        for prefix in prefixes:
            if token.startswith(prefix) and len(token) - len(prefix) >= 4:
                bare, skip = token[len(prefix) :], _clitic(token, prefix)
                break
        best = None
        for candidate, outside in {(token, 0), (bare, skip)}:
            found = process.extract(
                candidate, self._fuzzy_vocab, scorer=fuzz.ratio, score_cutoff=self._cutoff(candidate), limit=3
            )
            for word, score, _index in found:
                if _is_extension(candidate, word):
                    continue  # "balady" is another word, not a typo of "balad"
                if best is None or score > best[1]:
                    best = (word, float(score), outside)
                break
        return best

    def _cutoff(self, token: str) -> float:
        # A one-letter slip in a four-letter word is 75 %: short words need an exact-ish match.
        return self.fuzzy_cutoff if len(token) >= 6 else max(self.fuzzy_cutoff, 85.0)

    def extract(self, norm: Normalized) -> list[Entity]:
        """Entities in a normalised message, offsets in its original text, in text order."""
        found: list[Entity] = []
        taken: list[tuple[int, int]] = []
        for phrase in find(norm.text):
            start, end = norm.span(phrase.start, phrase.end)
            surface = norm.original[start:end]
            found.append(Entity("time", surface, start, end, surface, 1.0, "regex", phrase.meaning))
            taken.append((phrase.cover, phrase.end))
        taken += [(m.start(), m.end()) for m in _SET_PHRASE.finditer(norm.text)]

        tokens: list[tuple[str, float, int, int]] = []
        """canonical token, score, start (after any clitic), end"""
        articles: dict[int, int] = {}
        """token start → start of a Latin article right before it ("al balad" is named with its "al")"""
        for match in _TOKEN.finditer(norm.text):
            if any(s <= match.start() < e for s, e in taken):
                tokens.append(("", 0.0, match.start(), match.end()))
                continue
            word = match.group()
            following = _TOKEN.match(norm.text, match.end() + 1)
            if following is not None and _sun_article(word, following.group()):
                articles[match.end()] = match.start()
                continue
            if word in _DROP:
                if word in _LATIN_ARTICLES:
                    articles[match.end()] = match.start()
                continue  # "al" / "the" between words does not break a name
            canon = self._canon(_bare(word)) or (self._canon(word) if _bare(word) != word else None)
            tokens.append(
                (canon[0], canon[1], match.start() + canon[2], match.end())
                if canon
                else ("", 0.0, match.start(), match.end())
            )

        i = 0
        while i < len(tokens):
            matched = False
            for n in range(min(self.max_len, len(tokens) - i), 0, -1):
                window = tokens[i : i + n]
                if any(not t[0] for t in window):
                    continue
                entry = self.phrases.get(tuple(t[0] for t in window))
                if entry is None:
                    continue
                confidence = min(t[1] for t in window) / 100.0
                if n == 1 and confidence < _SINGLE_WORD_FUZZY:
                    continue  # a one-word name near another word ("دولار"/"دوار") is that other word
                first = window[0][2]
                before = norm.text[:first].rstrip(" -")
                if len(before) < first:
                    first = articles.get(len(before), first)
                start, end = norm.span(first, window[-1][3])
                surface = norm.original[start:end]
                found.append(Entity(entry.entity, entry.value, start, end, surface, confidence))
                i += n
                matched = True
                break
            if not matched:
                i += 1
        found.sort(key=lambda e: e.start)
        return found
