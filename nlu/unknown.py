"""Places a message names that the knowledge base does not hold: "مستشفى بخش", "Bakhsh Hospital".

A kind word with a name beside it is a named place, whether or not Dalil knows it: Arabic (and Arabizi)
put the name after the kind ("مسجد الجفالي", "mostashfa bakhsh", "دوار الطائرة"), English before it, in
capitals ("Le Mall", "Jeddah Traffic Department"). Such a place is marked ``place`` with the name as said
for its value, since it has no knowledge id; the kind word inside it is then no kind asked for.

What is a name: a word that is not a common word of the questions people ask (the words of the training
data outside its entities, :func:`common_words`), not a word that describes a kind ("حكومي", "كبير",
"اسنان", an indefinite adjective ending in ي/يه), not another entity, not a number. An honorific
("الملك", "الامير") or a definite word continues a name. At most four words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nlu.normalize import Normalized, fold
from nlu.spans import Hit
from nlu.training_data import Example

__all__ = ["UNKNOWN", "common_words", "named_places"]

_WORD = re.compile(r"[^\W_]+")
_BREAK = re.compile(r"[.?!,;:()\"]")
_CITY = re.compile(r"جده|jedd?ah?")
UNKNOWN = "name"
"""The extractor of a place the knowledge base does not hold."""
CONFIDENCE = 0.6
"""A name is likelier a place than not, but less sure than one the knowledge base holds."""
_MAX_WORDS = 4
_MIN_COUNT = 2
"""A word the training data uses this often outside names is a common word."""

# Singular kinds that head a name, and heads that are no category ("دوار", "شارع"), folded.
_AR_HEADS = frozenset(
    fold(w)
    for w in (
        "مستشفى", "مستوصف", "مسجد", "جامع", "فندق", "مطعم", "مقهى", "كافيه", "صيدلية", "حديقة", "منتزه",
        "متحف", "مدرسة", "جامعة", "كلية", "مكتبة", "سوق", "مجمع", "مركز", "نادي", "ملعب", "قصر", "برج",
        "دوار", "ميدان", "شارع", "طريق", "جسر", "بلدية", "ادارة", "إدارة", "هيئة", "وزارة", "مكتب",
        "mostashfa", "mustashfa", "mstshfa", "masjid", "masjed", "fondo2", "funduq", "mat3am", "mat7af",
        "madrasa", "jam3a", "dowar", "dawar", "share3", "shari3",
    )
)  # fmt: skip
_EN_HEADS = frozenset(
    {
        "hospital", "clinic", "mosque", "hotel", "restaurant", "cafe", "pharmacy", "park", "garden",
        "museum", "school", "university", "college", "library", "mall", "souq", "market", "center",
        "centre", "club", "stadium", "palace", "tower", "roundabout", "square", "street", "road", "bridge",
        "municipality", "department", "directorate", "authority", "ministry", "office",
    }
)  # fmt: skip
_HEAD = re.compile(
    r"(?<![^\W_])[وبلف]?(?:"
    + "|".join(sorted(map(re.escape, _AR_HEADS | _EN_HEADS), key=len, reverse=True))
    + r")(?![^\W_])"
)
"""A word that may head a name (quick test before the word-by-word reading)."""
# Words that describe a kind, or ask about it, rather than name it.
_MODIFIERS = frozenset(
    fold(w)
    for w in (
        "كبير", "كبيره", "صغير", "صغيره", "قريب", "قريبه", "بعيد", "حلو", "حلوه", "زين", "زينه", "كويس",
        "رخيص", "رخيصه", "غالي", "جديد", "جديده", "قديم", "جيد", "ممتاز", "فاخر", "هادي", "هادئ", "نظيف",
        "خاص", "خاصه", "عام", "عامه", "مفتوح", "مفتوحه", "فاتح", "فاتحه", "شغال", "شغاله", "مناوب",
        "مناوبه", "اسنان", "اطفال", "عيون", "نساء", "ولاده", "طوارئ", "سيارات", "ملابس", "اكل", "فطور",
        "عشاء", "غداء", "سمك", "مشاوي", "قهوه", "للعوايل", "عوائل", "بنات", "شباب", "حريم", "رجال",
        "اللي", "الي", "هذا", "هذي", "ذا", "ذي", "هنا", "هناك", "فيه", "فيها", "عند", "عندكم", "الحين",
        "ولا", "او", "يا", "مني", "منا", "لي", "حقي", "حقنا", "تبع", "حق", "كم", "وش", "ايش", "فين", "وين",
        "الكبير", "الجديد", "القديم", "القريب", "الرئيسي", "المركزي",
        # dishes: "مطعم كبسة" is a kind of restaurant
        "كبسه", "مندي", "مندى", "مظبي", "مضغوط", "بخاري", "شاورما", "شاورمه", "بروست", "برجر", "برقر",
        "بيتزا", "سوشي", "ستيك", "برياني", "كباب", "فلافل", "فول", "مشويات", "حلويات", "معجنات", "مقلوبه",
        "ماكولات", "بحري", "بحريه", "سي فود",
    )
)  # fmt: skip
_HONORIFICS = frozenset(fold(w) for w in ("الملك", "الامير", "الأمير", "الشيخ", "الدكتور", "د", "بن", "ابو"))
_EN_FUNCTION = frozenset(
    {
        "where", "what", "when", "how", "is", "are", "the", "a", "an", "i", "my", "does", "do", "can",
        "which", "any", "nearest", "closest", "best", "good", "to", "at", "in", "on", "from", "of", "near",
        "open", "close", "call", "contact", "find", "show", "tell", "me", "please", "hi", "hello", "and",
    }
)  # fmt: skip


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int


def common_words(examples: Iterable[Example]) -> frozenset[str]:
    """The folded words the training ``examples`` use at least twice outside their entities."""
    counts: Counter[str] = Counter()
    for example in examples:
        spans = [(a.start, a.end) for a in example.entities]
        for match in _WORD.finditer(example.text):
            if not any(s <= match.start() < e for s, e in spans):
                counts[fold(match.group())] += 1
    return frozenset(w for w, n in counts.items() if n >= _MIN_COUNT)


def _nisba(word: str) -> bool:
    """An indefinite adjective of relation ("حكومي", "هنديه"): it describes, it does not name."""
    return not word.startswith("ال") and not word.isascii() and (word.endswith("ي") or word.endswith("يه"))


def _free(word: _Word, hits: Sequence[Hit]) -> bool:
    return not any(h.start < word.end and word.start < h.end for h in hits)


def _name_after(
    words: Sequence[_Word], i: int, text: str, hits: Sequence[Hit], common: frozenset[str]
) -> int:
    """How many words after ``words[i]`` (a head) name it: "مسجد [الجفالي]", "mostashfa [bakhsh]"."""
    taken = 0
    definite = previous_honorific = False
    for word in words[i + 1 : i + 1 + _MAX_WORDS]:
        gap = text[(words[i + taken].end) : word.start]
        if _BREAK.search(gap):
            break
        if taken and _CITY.fullmatch(word.text):
            return taken + 1  # "إدارة مرور [جدة]"
        if not _free(word, hits) or word.text.startswith("وال"):
            break  # "مسجد الجفالي [والناس …]"
        if not taken and word.text.startswith("ل"):
            break  # "طريق [للثراء]", "مستشفى [للولادة]": "for …", no name
        bare = word.text[2:] if word.text.startswith("لل") else word.text
        honorific = word.text in _HONORIFICS
        if definite and not word.text.startswith(("ال", "لل")):
            break  # "مسجد الجفالي [تطيح]": after "ال…" a name goes on with "ال…" ("الملك خالد" is honorific)
        # after "الملك خالد" the name goes on only with "ال…" ("للحرس الوطني"), not "زحمة"
        definite = (word.text.startswith(("ال", "لل")) or previous_honorific) and not honorific
        previous_honorific = honorific
        if not honorific and (
            word.text in common or bare in _MODIFIERS or word.text in _MODIFIERS or word.text.isdigit()
        ):
            break
        if not honorific and (_nisba(word.text) or len(word.text) < 2):
            break
        taken += 1
    return taken


def _name_before(words: Sequence[_Word], i: int, norm: Normalized, hits: Sequence[Hit]) -> int:
    """How many capitalised words before ``words[i]`` (an English head) name it: "[Bakhsh] Hospital"."""
    taken = 0
    for word in reversed(words[max(0, i - 3) : i]):
        first = norm.original[norm.offsets[word.start]]
        if (
            not (first.isupper() and word.text.isascii())
            or word.text in _EN_FUNCTION
            or not _free(word, hits)
        ):
            break
        if _BREAK.search(norm.text[word.end : words[i - taken].start]):
            break
        taken += 1
    return taken


def named_places(
    norm: Normalized, hits: Sequence[Hit], common: frozenset[str], blocked: Sequence[tuple[int, int]] = ()
) -> list[Hit]:
    """``hits`` with the places named around a kind word that no hit covers (see the module docstring).

    A kind hit inside such a name is dropped; the name becomes a ``place`` hit whose value is its
    normalised text.
    """
    if _HEAD.search(norm.text) is None:
        return list(hits)  # most messages name no kind that could head a name
    words = [_Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(norm.text)]
    walls = [Hit("", "", s, e, 0.0) for s, e in blocked]
    found: list[Hit] = []
    for i, word in enumerate(words):
        if not _free(word, walls):
            continue
        inside = [h for h in hits if h.start < word.end and word.start < h.end]
        if inside and (
            inside[0].entity != "category" or inside[0].start < word.start - 2 or inside[0].end > word.end
        ):
            continue  # part of a known name, or of a kind of several words
        head = word.text
        start = word.start if not inside else inside[0].start
        if head in _AR_HEADS or (head[:1] in "وبلف" and head[1:] in _AR_HEADS):
            if head not in _AR_HEADS:
                start = word.start + 1  # "ل[مستشفى بخش]"
            n = _name_after(words, i, norm.text, [*(h for h in hits if h not in inside), *walls], common)
            if n and _free(words[i + 1], [*hits, *walls]):
                end = words[i + n].end
                found.append(Hit("place", norm.text[start:end], start, end, CONFIDENCE, UNKNOWN))
        elif head in _EN_HEADS:
            n = _name_before(words, i, norm, [*(h for h in hits if h not in inside), *walls])
            if n:
                first = words[i - n].start
                end = inside[0].end if inside else word.end
                found.append(Hit("place", norm.text[first:end], first, end, CONFIDENCE, UNKNOWN))
    if not found:
        return list(hits)
    kept = [h for h in hits if not any(f.start < h.end and h.start < f.end for f in found)]
    return sorted([*kept, *found], key=lambda h: h.start)
