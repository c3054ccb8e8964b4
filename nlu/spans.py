"""Span conventions: how much of a message a found name covers, and which finds are no entity at all.

The gazetteer (:mod:`nlu.gazetteer`) finds names; these rules settle what a reader marks:

* a place takes the word for its own kind beside it: Arabic and Arabizi put it before the name,
  English after ("[مستشفى سليمان فقيه]", "[mat7af al tayebat]", "[Tayebat Museum]",
  "[King Faisal Specialist Hospital]"), but only a kind the place is (a hospital's "مستشفى", not the
  "صيدلية" in "صيدلية رد سي مول");
* a place whose full name holds the city's name takes it beside it too ("[Jeddah Passport Office]",
  "[Hilton Jeddah]"), but not "in Jeddah" ("[الجوازات] بجدة");
* an Arabic adjective right after a kind describes it, it is no second kind: "[مستشفى] حكومي",
  "[مطعم] تراثي";
* a kind of place named after "has", "with", "فيه", "مزود ب" … that follow a place or another kind is
  something the first one has, not the kind asked for: "does Red Sea Mall have a cinema", "حديقة فيها
  ممشى", "rooftop cafe with a sea view" carry no second category;
* an Arabic kind right before a place names a part of it: "عيادات [مستشفى العيون]" (a place's own kind
  word was taken into its name first);
* the body a service is had "with" is no place asked about: "احجز [موعد مرئي] مع البلدية", "book a
  [video appointment] with the municipality";
* a kind after "my", "our" … is the person's own place, not one asked for ("for my restaurant staff");
* an English cuisine word before "restaurant" is part of the kind ("[seafood restaurant]",
  "[Indian restaurants]"); Arabic puts it after and it stays outside ("[مطعم] هندي").

Spans here are in the normalised text (:class:`nlu.normalize.Normalized`), as the gazetteer matches.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

__all__ = ["SPAN_RULES", "Hit", "apply"]

SPAN_RULES = 2
"""The version of these rules, in the gazetteer's digest: models trained under other rules retrain."""

_WORD = re.compile(r"[^\W_]+")
_CLAUSE_BREAK = re.compile(r"[.?!,;:]")
_CITY = re.compile(r"جده|jedd?ah?|jidd?ah?", re.IGNORECASE)
"""The city's name as a word of a place's name ("بجدة", "in Jeddah", says where, and stays outside)."""
_HAS = frozenset(
    {
        "فيه", "فيها", "فيهم", "بها", "به", "عنده", "عندها", "عندهم", "مزود", "مزوده", "مجهز", "مجهزه",
        "fih", "fiha", "feeh", "feha", "fiih", "has", "have", "having", "with", "offers", "offer",
    }
)  # fmt: skip
_OWNER = re.compile(r"(?<![^\W_])(?:my|our|his|her|their) $", re.IGNORECASE)
"""Someone's own place is no kind asked for: "a health certificate for my restaurant staff"."""
_ARTICLES = frozenset({"the", "al", "el"})
_WITH = frozenset({"مع", "with", "ma3", "ma3a", "عبر", "via", "through"})
_CUISINE = re.compile(
    r"(?:seafood|sea food|fish|indian|italian|lebanese|turkish|yemeni|hijazi|saudi|arabic|arabian|chinese"
    r"|japanese|thai|korean|mexican|american|french|syrian|egyptian|pakistani|filipino|persian|greek|asian|burger|pizza"
    r"|sushi|fast food|steak|kebab|shawarma|mandi) $",
    re.IGNORECASE,
)
"""Cuisine words English puts before "restaurant" ("[Indian restaurants]")."""
_HAS_GAP_WORDS = 3
"""At most this many words between a name and what it has ("does Red Sea Mall have a cinema")."""
_JOIN = frozenset(" -")
"""What may stand between a place's name and its kind word or the city's name."""


@dataclass(frozen=True)
class Hit:
    """A found name, in the normalised text."""

    entity: str
    value: str
    start: int
    end: int
    confidence: float
    extractor: str = "gazetteer"


def _between(text: str, left: Hit, right: Hit) -> str:
    return text[left.end : right.start]


def _joined(text: str, left: Hit, right: Hit) -> bool:
    gap = _between(text, left, right)
    return left.end <= right.start and len(gap) <= 2 and set(gap) <= _JOIN


def _own_kind(hit: Hit, place: Hit, kinds: Mapping[str, Sequence[str]]) -> bool:
    return hit.entity == "category" and hit.value in kinds.get(place.value, ())


def _merge_kinds(hits: list[Hit], text: str, kinds: Mapping[str, Sequence[str]]) -> list[Hit]:
    out: list[Hit] = []
    for hit in hits:
        previous = out[-1] if out else None
        if previous is not None and _joined(text, previous, hit):
            if hit.entity == "place" and _own_kind(previous, hit, kinds):
                out[-1] = replace(
                    hit, start=previous.start, confidence=min(hit.confidence, previous.confidence)
                )
                continue
            english_order = text[hit.start : hit.end].isascii()  # "[Tayebat Museum]", not "tayebat متحف"
            if previous.entity == "place" and english_order and _own_kind(hit, previous, kinds):
                out[-1] = replace(previous, end=hit.end, confidence=min(hit.confidence, previous.confidence))
                continue
        out.append(hit)
    return out


def _with_city(hit: Hit, text: str, others: Sequence[Hit]) -> Hit:
    """The place with the city's name beside it, when it is a word of its own ("Jeddah X", "X بجدة")."""
    before = re.search(r"([^\W_]+)[ -]?$", text[: hit.start])
    after = re.match(r"[ -]?([^\W_]+)", text[hit.end :])
    free = [(h.start, h.end) for h in others if h is not hit]
    if before is not None and _CITY.fullmatch(before.group(1)):
        start = before.start(1)
        if not any(s < hit.start and start < e for s, e in free):
            hit = replace(hit, start=start)
    if after is not None and _CITY.fullmatch(after.group(1)):
        end = hit.end + after.end(1)
        if not any(hit.end < e and s < end for s, e in free):
            hit = replace(hit, end=end)
    return hit


def _facility(text: str, earlier: Hit, hit: Hit) -> bool:
    """``hit`` (a kind) is something ``earlier`` (a place or kind) has: "X فيه سينما", "X with a sea view"."""
    gap = _between(text, earlier, hit)
    words = _WORD.findall(gap)
    return (
        earlier.entity in ("place", "category")
        and 0 < len(words) <= _HAS_GAP_WORDS
        and not _CLAUSE_BREAK.search(gap)
        and any(w in _HAS for w in words)
    )


def _provider(text: str, earlier: Hit, hit: Hit) -> bool:
    """``hit`` is the body a service is had with: "[موعد مرئي] مع البلدية"."""
    words = [w for w in _WORD.findall(_between(text, earlier, hit)) if w not in _ARTICLES]
    if len([w for w in _WORD.findall(text[hit.start : hit.end]) if w not in _ARTICLES]) > 1:
        return False  # "with Jeddah Municipality" names which one
    return (
        earlier.entity == "service"
        and hit.entity in ("place", "category")
        and len(words) == 1
        and words[0] in _WITH
    )


def _with_cuisine(hit: Hit, text: str, after: int) -> Hit:
    cuisine = _CUISINE.search(text, after, hit.start)
    if cuisine is None or (cuisine.start() and text[cuisine.start() - 1].isalnum()):
        return hit
    return replace(hit, start=cuisine.start())


def _part_of(text: str, hit: Hit, hits: Sequence[Hit]) -> bool:
    """``hit`` (an Arabic kind) is a part of the place right after it: "عيادات [مستشفى العيون]"."""
    after = next((h for h in hits if h.start >= hit.end), None)
    return (
        after is not None
        and after.entity == "place"
        and _joined(text, hit, after)
        and not text[hit.start : hit.end].isascii()
    )


def _describes(text: str, earlier: Hit, hit: Hit) -> bool:
    """``hit`` is an Arabic adjective (nisba: "حكومي", "التراثيه") right after the kind it describes.

    An adjective agrees with its noun: both with the article or both without ("مستشفى حكومي",
    "المطاعم التراثيه"); "مطاعم العزيزيه" is a district's restaurants.
    """
    word, noun = text[hit.start : hit.end], text[earlier.start : earlier.end]
    return (
        earlier.entity == "category"
        and hit.entity in ("category", "district")
        and _joined(text, earlier, hit)
        and " " not in word
        and not word.isascii()
        and (word.endswith("ي") or word.endswith("يه"))
        and word.startswith("ال") == noun.startswith("ال")
    )


def apply(
    hits: Sequence[Hit], text: str, kinds: Mapping[str, Sequence[str]], city_named: Collection[str]
) -> list[Hit]:
    """``hits`` (in text order, not overlapping) with the span conventions of this module applied.

    Args:
        hits: the gazetteer's names in the normalised ``text``.
        text: the normalised message.
        kinds: place id → the category ids it belongs to.
        city_named: ids of the places whose full name holds the city's name.
    """
    merged = _merge_kinds(list(hits), text, kinds)
    merged = [
        _with_city(h, text, merged) if h.entity == "place" and h.value in city_named else h for h in merged
    ]
    kept: list[Hit] = []
    for hit in merged:
        earlier = next((h for h in reversed(kept) if h.end <= hit.start), None)
        if hit.entity == "category" and (_part_of(text, hit, merged) or _OWNER.search(text, 0, hit.start)):
            continue
        if earlier is not None and (
            (hit.entity == "category" and _facility(text, earlier, hit))
            or _provider(text, earlier, hit)
            or _describes(text, earlier, hit)
        ):
            continue
        if hit.entity == "category" and hit.value == "restaurant":
            hit = _with_cuisine(hit, text, kept[-1].end if kept else 0)
        kept.append(hit)
    return kept
