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
from nlu.names import (
    ABD,
    AR_PREFIXES,
    DROP,
    LATIN_ARTICLES,
    LATIN_PREFIXES,
    WORD,
    Token,
    bare,
    canonical_tokens,
    clitic,
    english_word,
    is_extension,
    latin_key,
    sun_article,
    swapped,
)
from nlu.names import (
    key as token_key,
)
from nlu.normalize import Normalized, arabizi_fold
from nlu.spans import SPAN_RULES, Hit, apply
from nlu.times import TIME_PHRASE, find
from nlu.types import Entity
from nlu.unknown import UNKNOWN, named_places

__all__ = ["Gazetteer", "GazetteerEntry", "canonical_tokens", "latin_key"]

_PRIORITY = {"place": 4, "service": 3, "district": 2, "category": 1}
_CACHE_LIMIT = 50_000
_DISTRICT_WORDS = frozenset(
    {"حي", "hay", "hai", "hayy", "7ay", "7ai", "district", "neighbourhood", "neighborhood"}
)
"""The word "district": outside a district's span ("حي [الروضة]", "[Al-Rawdah] district")."""
_IN_WORDS = frozenset({"في", "fi", "fe", "in", "inside", "داخل"})
_TANWEEN_ALEF_MIN = 4
"""An MSA accusative ("موعداً مرئياً", "منتزهاً") is read as its noun when this long."""
_SINGLE_WORD_FUZZY = 0.9

# Greetings, blessings and set phrases, in folded form: no entity is read inside them, so "ورحمة" in
# "السلام عليكم ورحمة الله" is not the district Al-Rahmah, nor "السلامة" in "مع السلامة" As-Salamah.
_SET_PHRASE = re.compile(
    r"(?<![^\W_])(?:"
    r"(?:(?:و ?)?عليكم السلام|السلام عليكم|سلام عليكم)(?: و ?رحمه الله)?(?: و ?بركاته)?"
    r"|و ?رحمه الله(?: و ?بركاته)?|(?:الله )?يرحم(?:ه|ها|ك|هم)?(?: الله)?|رحمه الله|رحمها الله"
    r"|(?:الحمد لله )?(?:و ?)?(?:مع|علي|ع) السلامه|بالسلامه|(?:الله )?يسلم(?:ك|كم)?|سلامات"
    r"|تحيه طيبه(?: وبعد)?|تحياتي|(?:bye|goodbye|that'?s all) for now"
    r"|(?:صباح|مساء|مسا) (?:الخير|النور|الورد|الفل|الياسمين)|اهلا و ?سهلا|(?:يا )?هلا و ?غلا|حياك الله"
    r"|(?:ان|اذا) شاء الله|ما شاء الله|الحمد لله|بسم الله|سبحان الله|تبارك الله|باذن الله|لا اله الا الله"
    r"|(?:الله )?يعطيك(?:م)? (?:العافيه|الصحه)|(?:الله )?يعافيك(?:م)?|جزاك(?:م)? الله خير(?:ا)?"
    r"|الله يجزاك(?:م)? (?:ب)?(?:ال)?خير|بارك الله فيك(?:م)?|(?:الله )?يحفظك(?:م)?|(?:في|ف) امان الله"
    r"|(?:الله )?(?:يحييك|حياك|يخليك|يسعدك|يوفقك)(?:م)?(?: الله)?"
    # fixed compounds whose words name no place: e-mail is no post office, a lamp post no district
    r"|(?:ال)?بريد (?:ال)?الكتروني|عمود (?:ال)?نور|عمود (?:ال)?اناره|سوق (?:ال)?اسهم"
    r"|stock (?:market|exchange)"
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


def _outranks(entry: GazetteerEntry, current: GazetteerEntry) -> bool:
    """Which meaning a phrase keeps when two records share it.

    Places beat services beat districts beat categories, except that a kind beats a district of the
    same words: "شاطئ" asked alone means a beach; the district is still found as "حي الشاطئ".
    """
    if {entry.entity, current.entity} == {"category", "district"}:
        return entry.entity == "category"
    return _PRIORITY[entry.entity] > _PRIORITY[current.entity]


def _after_in(text: str, tokens: Sequence[Token], i: int) -> bool:
    """Whether token ``i`` follows "in" ("في", "fi", "in", an attached "ب"), a Latin article between."""
    start = tokens[i - 1].start if i and tokens[i - 1].article else tokens[i].start
    if start and text[start - 1] == "ب" and (start == 1 or not text[start - 2].isalnum()):
        return True
    before = text[:start].rstrip(" -").rsplit(" ", 1)[-1]
    return before in _IN_WORDS


class Gazetteer:
    """Longest-match entity extraction over canonical tokens, with fuzzy tolerance for typos."""

    def __init__(
        self,
        entries: Iterable[GazetteerEntry],
        fuzzy_cutoff: float = 80.0,
        kinds: Mapping[str, Sequence[str]] | None = None,
        common: frozenset[str] | None = None,
    ) -> None:
        """Index ``entries``; tokens of four letters or more match with rapidfuzz ratio ≥ ``fuzzy_cutoff``.

        ``kinds`` maps a place id to its category ids, so a place takes its own kind word beside it
        (:mod:`nlu.spans`).
        """
        self.phrases: dict[tuple[str, ...], GazetteerEntry] = {}
        self.areas: dict[tuple[str, ...], GazetteerEntry] = {}
        """Districts whose words also name a kind: read as the district after "in" ("في [الشاطئ]")."""
        city = set(canonical_tokens("جدة jeddah jiddah"))
        city_named: set[str] = set()
        for entry in entries:
            key = canonical_tokens(entry.surface)
            if not key:
                continue
            if entry.entity == "place" and city.intersection(key):
                city_named.add(entry.value)
            current = self.phrases.get(key)
            if current is None or _outranks(entry, current):
                self.phrases[key] = entry
            if entry.entity == "district" and current is not None:
                self.areas[key] = entry
            elif current is not None and current.entity == "district":
                self.areas[key] = current
        self.kinds: Mapping[str, Sequence[str]] = kinds or {}
        self.common = common
        """The training data's common words; None: no places beyond the store's are found."""
        self.city_named = frozenset(city_named)
        self.vocab = {token for key in self.phrases for token in key}
        self._fuzzy_vocab = sorted(t for t in self.vocab if len(t) >= 4 and not t.isdigit())
        self.max_len = max((len(k) for k in self.phrases), default=1)
        self.fuzzy_cutoff = fuzzy_cutoff
        self._cache: dict[str, tuple[str, float, int] | None] = {}
        listing = "\n".join(f"{' '.join(k)}\t{e.entity}\t{e.value}" for k, e in sorted(self.phrases.items()))
        listing += "\n" + "\n".join(f"{p}\t{' '.join(c)}" for p, c in sorted(self.kinds.items()))
        listing += "\n" + ("-" if common is None else " ".join(sorted(common))) + f"\n{SPAN_RULES}"
        patterns = f"{TIME_PHRASE.pattern}\n{_SET_PHRASE.pattern}"
        self.digest = hashlib.sha256(f"{patterns}\n{listing}".encode()).hexdigest()[:16]
        """Identifies what this gazetteer finds (models trained with it are named by it)."""

    @classmethod
    def from_store(
        cls,
        store: Store,
        synonyms: Mapping[str, str] | None = None,
        common: frozenset[str] | None = None,
    ) -> Gazetteer:
        """Every place, category, district and service name and alias in ``store``.

        Args:
            store: the knowledge index.
            synonyms: extra surface → value pairs (Rasa ``synonym`` blocks) for values the store knows.
            common: the common words of the training data (:func:`nlu.unknown.common_words`); with them,
                places the store does not hold are found by a kind word and a name ("مستشفى بخش").
        """
        entries: list[GazetteerEntry] = []

        def add(entity: str, value: str, names: Sequence[str]) -> None:
            entries.extend(GazetteerEntry(entity, value, n) for n in names)

        for place_id, names in store.places.named():  # a synced "صيدلية" has none: the word stays the kind
            add("place", place_id, [*names, *(swapped(n) for n in names if swapped(n))])
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
        kinds_of = {f.id: f.categories for f in store.places.facts if f.names}
        return cls(entries, kinds=kinds_of, common=common)

    def _canon(self, token: str) -> tuple[str, float, int] | None:
        """The vocabulary token ``token`` stands for, with the match score and the clitic length.

        The clitic length is how many of its first letters stay outside the name ("و" of "والصيدلية").
        """
        if token in self.vocab:
            return token, 100.0, 0
        cached = self._cache.get(token, False)  # by the word as written: a Latin key costs a few regexes
        if cached is not False:
            return cached  # type: ignore[return-value]
        keyed = token_key(token)
        result = (keyed, 100.0, 0) if keyed in self.vocab else self._resolve(keyed)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = result
        return result

    def _resolve(self, token: str) -> tuple[str, float, int] | None:
        prefixes = LATIN_PREFIXES if token.isascii() else AR_PREFIXES
        for prefix in prefixes:
            rest = token[len(prefix) :]
            if token.startswith(prefix) and len(rest) >= 2 and rest in self.vocab:
                return rest, 100.0, clitic(token, prefix)
        if token.isascii():
            folded = arabizi_fold(token)
            if folded != token and folded in self.vocab:
                return folded, 97.0, 0
        if len(token) < 4 or token.isdigit():
            return None
        bare, skip = token, 0
        for prefix in prefixes:
            if token.startswith(prefix) and len(token) - len(prefix) >= 4:
                bare, skip = token[len(prefix) :], clitic(token, prefix)
                break
        best = None
        for candidate, outside in {(token, 0), (bare, skip)}:
            found = process.extract(
                candidate, self._fuzzy_vocab, scorer=fuzz.ratio, score_cutoff=self._cutoff(candidate), limit=3
            )
            for word, score, _index in found:
                if is_extension(candidate, word):
                    continue  # "balady" is another word, not a typo of "balad"
                if best is None or score > best[1]:
                    best = (word, float(score), outside)
                break
        return best

    def _cutoff(self, token: str) -> float:
        # A one-letter slip in a four-letter word is 75 %: short words need an exact-ish match.
        return self.fuzzy_cutoff if len(token) >= 6 else max(self.fuzzy_cutoff, 85.0)

    def _tokens(self, norm: Normalized, taken: Sequence[tuple[int, int]]) -> list[Token]:
        """The message's words as canonical tokens ("" where no name can be), articles folded in."""
        tokens: list[Token] = []
        words = list(WORD.finditer(norm.text))
        skip = 0
        for index, match in enumerate(words):
            if skip:
                skip -= 1
                continue
            if any(s <= match.start() < e for s, e in taken):
                tokens.append(Token("", 0.0, match.start(), match.end()))
                continue
            word = match.group()
            following = words[index + 1] if index + 1 < len(words) else None
            sun = following is not None and sun_article(word, following.group())
            if sun and not english_word(norm, match):
                tokens.append(Token("", 0.0, match.start(), match.end(), skip=True, article=True))
                continue
            if word in DROP or (word == "s" and norm.text[match.start() - 1 : match.start()] == "'"):
                article = word in LATIN_ARTICLES
                tokens.append(Token("", 0.0, match.start(), match.end(), skip=True, article=article))
                continue  # "al" / "the" between words, or a possessive "'s", does not break a name
            end = match.end()
            if ABD.match(word) and following is not None:  # "عبد الرؤوف" is "عبدالرؤوف"
                joined = following
                if following.group() in LATIN_ARTICLES and index + 2 < len(words):
                    joined, skip = words[index + 2], 1
                word, end, skip = word + joined.group(), joined.end(), skip + 1
            canon = self._canon(bare(word)) or (self._canon(word) if bare(word) != word else None)
            canon = canon or self._tanween(word)
            tokens.append(
                Token(canon[0], canon[1], match.start() + canon[2], end)
                if canon
                else Token("", 0.0, match.start(), end)
            )
        return tokens

    def _tanween(self, word: str) -> tuple[str, float, int] | None:
        """An MSA accusative read as its noun: "موعداً" (folded "موعدا") is "موعد"."""
        if len(word) < _TANWEEN_ALEF_MIN or not word.endswith("ا") or word.isascii():
            return None
        found = self._canon(bare(word[:-1]))
        return (found[0], found[1], found[2]) if found and found[1] >= 100.0 else None

    def _match_at(self, text: str, tokens: Sequence[Token], i: int) -> tuple[Hit, int] | None:
        """The longest name starting at token ``i``, and how many tokens it takes (articles included)."""
        if not tokens[i].canon:
            return None
        reach, words = i, 0
        while reach < len(tokens) and words < self.max_len:
            words += not tokens[reach].skip
            reach += 1
        for n in range(reach - i, 0, -1):
            window = [t for t in tokens[i : i + n] if not t.skip]
            if tokens[i + n - 1].skip:
                continue  # a name never ends on an article
            if any(not t.canon for t in window):
                continue
            key = tuple(t.canon for t in window)
            entry = self.phrases.get(key)
            if entry is None:
                continue
            if entry.entity == "category" and key in self.areas and _after_in(text, tokens, i):
                entry = self.areas[key]  # "في [الشاطئ]", "fi [el shati2]": the district, not the beach
            confidence = min(t.score for t in window) / 100.0
            if len(window) == 1 and confidence < _SINGLE_WORD_FUZZY:
                continue  # a one-word name near another word ("دولار"/"دوار") is that other word
            first = window[0].start
            if entry.entity == "district" and len(key) > 1 and key[0] in _DISTRICT_WORDS:
                rest = self.phrases.get(key[1:])
                if rest is not None and rest.value == entry.value:
                    first = window[1].start  # "حي [الروضة]"
            elif i and tokens[i - 1].article and tokens[i - 1].end + 2 >= first:
                first = tokens[i - 1].start  # "[al balad]", "[ar-rawdah]": a Latin article is part of it
            last = window[-1].end
            if entry.entity == "district" and len(key) > 1 and key[-1] in _DISTRICT_WORDS:
                rest = self.phrases.get(key[:-1])
                if rest is not None and rest.value == entry.value:
                    last = window[-2].end  # "[Al-Rawdah] district"
            return Hit(entry.entity, entry.value, first, last, confidence), n
        return None

    def extract(self, norm: Normalized, names: bool = True) -> list[Entity]:
        """Entities in a normalised message, offsets in its original text, in text order.

        With ``names`` (and common words), a place the store does not hold is found by a kind word and a
        name beside it (:mod:`nlu.unknown`), its value the name as said.
        """
        found: list[Entity] = []
        taken = [(m.start(), m.end()) for m in _SET_PHRASE.finditer(norm.text)]
        phrases = find(norm.text, taken)  # none inside a set phrase: "bye for now"
        for phrase in phrases:
            start, end = norm.span(phrase.start, phrase.end)
            surface = norm.original[start:end]
            found.append(Entity("time", surface, start, end, surface, 1.0, "regex", phrase.meaning))
        taken += [(phrase.cover, phrase.cover_end) for phrase in phrases]

        tokens = self._tokens(norm, taken)
        hits: list[Hit] = []
        i = 0
        while i < len(tokens):
            matched = self._match_at(norm.text, tokens, i)
            if matched is None:
                i += 1
                continue
            hit, n = matched
            hits.append(hit)
            i += n
        hits = apply(hits, norm.text, self.kinds, self.city_named)
        if names and self.common is not None:
            hits = named_places(norm, hits, self.common, taken)
        for hit in hits:
            start, end = norm.span(hit.start, hit.end)
            surface = norm.original[start:end]
            value = surface if hit.extractor == UNKNOWN else hit.value
            found.append(Entity(hit.entity, value, start, end, surface, hit.confidence, hit.extractor))
        found.sort(key=lambda e: e.start)
        return found
