"""How a message is read and which handler answers it, beyond what the NLU says.

Reading: a leading greeting is split off (and greeted back briefly) and the rest answered; in a long
message only the question clause is parsed, with places named earlier in the story kept. Deciding: a
named place beats its category word, a request for a person beats the classifier, frustration is not a
hand-off request, a cuisine or an outing is a search, a bare "and a pharmacy?" follows a nearest search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.lexicon import Lexicon, Phrases, question_clause, words
from bot.turn import Turn
from nlu.types import Entity, IntentScore, Parse, Parser

__all__ = ["Reading", "decide", "read_message"]

_NEAR = re.compile(
    r"(?<![^\W_])(?:near|nearby|nearest|closest|close|around|قريب|قريبه|قريبة|القريب|القريبه|القريبة|اقرب|أقرب|جنب|حول|"
    r"a2rab|a8rab|a9rab|aqrab|agrab|akrab|gareeb|qareeb)(?![^\W_])",
    re.IGNORECASE,
)
_IN = re.compile(r"(?:(?<![^\W_])(?:in|inside|at|في|داخل)\s+(?:the\s+)?|(?<![^\W_])ب)\S*$", re.IGNORECASE)
_NUMBERED = re.compile(r"(?:رقم|number|no\.?)\s*[0-9٠-٩]+", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]")
_AND = re.compile(r"^\s*(?:و(?=[^\W\d_]{2})|(?:and|w|wa)\s+(?:an?\s+|the\s+)?)", re.IGNORECASE)
FOLLOW_UP_WORDS = 4
UNNAMED_WORDS = 3
NAME_SEARCH_LETTERS = 4
"""A place question this long that names no place, kind or area is not about a place."""
"""A message this short that names only a kind of place continues the previous search."""
_SEARCHES = frozenset({"find_place", "nearest_place", "out_of_scope", "place_info", "greet", "help"})
_ABOUT_A_PLACE = frozenset(
    {"place_info", "opening_hours", "contact_info", "directions", "find_place", "out_of_scope", "deny"}
)
_VENTING = frozenset({"human_handoff", "out_of_scope", "deny", "feedback_wrong_info", "greet", "help"})


@dataclass(frozen=True)
class Reading:
    """A message as the dialogue reads it."""

    parse: Parse
    question: str
    """The text that asks (the whole message, less a leading greeting, or a long message's question)."""
    greeting: str = ""
    """A greeting that opened a message which also asks something ("" otherwise)."""
    story: str = ""
    """The whole message when only its question clause was parsed."""


def read_message(lexicon: Lexicon, parser: Parser, text: str) -> Reading:
    """Split off a leading greeting, find the question in a long message, and parse what asks."""
    if not text:
        return Reading(Parse("", IntentScore("out_of_scope", 0.0), (), (), "ar"), "")
    greeting, rest = lexicon.split_greeting(text)
    if greeting and not _LETTERS.search(rest):
        parse = parser.parse(text)  # a greeting and nothing else: its words are not entities
        score = IntentScore("greet", 1.0)
        return Reading(replace(parse, intent=score, ranking=(score,), entities=()), text)
    body = rest if greeting else text
    question = question_clause(body)
    parse = parser.parse(question)
    story = ""
    if not parse.entities and len(words(question)) <= FOLLOW_UP_WORDS and _AND.match(question):
        bare = parser.parse(_AND.sub("", question, count=1))  # "وكافي؟", "and an ATM?"
        if bare.entities:
            parse = replace(bare, text=parse.text)
    if question != body:
        story = body
        if not parse.first("place") and not parse.first("category"):  # "is it open tonight?"
            earlier = tuple(e for e in parser.parse(body).entities if e.entity == "place")
            parse = replace(parse, entities=(*parse.entities, *earlier[-1:]))
    if parse.intent.name == "out_of_scope" and not parse.entities and _city_cue(lexicon, question):
        parse = replace(parse, entities=recover_entities(parser, question))
    return Reading(parse, question, greeting, story)


RECOVER_WORDS = 3
"""Window for :func:`recover_entities`: the NLU keeps the entities of messages this short."""


def _city_cue(lexicon: Lexicon, text: str) -> bool:
    lists = (lexicon.where, lexicon.route, lexicon.recommend, lexicon.outing, *lexicon.filters.values())
    return bool(_NEAR.search(text)) or any(p.among(text) for p in (*lists, *lexicon.cuisines.values()))


def recover_entities(parser: Parser, text: str) -> tuple[Entity, ...]:
    """The places, kinds, areas and times in a sentence the NLU judged out of scope.

    The NLU drops the entities of a long out-of-scope sentence ("a bank" in a banking complaint); when the
    sentence reads like a city question ("أريد أفضل مطعم في جدة", "… where is the nearest restaurant?"),
    they are read back from short windows of it, longest mention first.
    """
    spans = words(text)
    found: list[Entity] = []
    for index in range(len(spans)):
        start, end = spans[index].start, spans[min(index + RECOVER_WORDS, len(spans)) - 1].end
        for entity in parser.parse(text[start:end]).entities:
            moved = replace(entity, start=entity.start + start, end=entity.end + start)
            if not any(moved.start < e.end and e.start < moved.end for e in found):
                found.append(moved)
            elif any(e.start <= moved.start and moved.end <= e.end for e in found):
                continue
            else:  # a longer mention of the same thing replaces the shorter one
                found = [e for e in found if not (moved.start <= e.start and e.end <= moved.end)] + [moved]
    return tuple(sorted(found, key=lambda e: e.start))


def _next_to(category: Entity, place: Entity, text: str) -> bool:
    """The kind word is part of the name as said ("mustashfa soliman fakeeh", "Erfan hospital")."""
    if category.end <= place.start:
        return not text[category.end : place.start].strip()
    return place.end <= category.start and not text[place.end : category.start].strip()


def _inside(inner: Entity, outer: Entity) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _add_category(turn: Turn, category: str) -> None:
    turn.parse = replace(
        turn.parse, entities=(*turn.parse.entities, Entity("category", category, 0, 0, "", 1.0, "dialogue"))
    )


_NAME_SEARCH = frozenset({"find_place", "nearest_place", "place_info", "directions", "out_of_scope"})
NAME_SCORE = 86
"""A fuzzy name match this good, on a message the NLU found no entity in, is taken as that place."""


def _search_name(turn: Turn) -> Entity | None:
    """The place a message names that the NLU did not mark ("wen mol al3arab"), as an entity."""
    query = turn.services.lexicon.name_part(turn.incoming.text)
    if len(query) < NAME_SEARCH_LETTERS:
        return None
    hits = turn.store.search(query, lang=turn.lang, limit=2, min_score=NAME_SCORE)
    if not hits or (len(hits) > 1 and hits[1].score >= hits[0].score):
        return None  # nothing, or a tie: not clear enough to answer about one place
    entity = Entity("place", hits[0].place.id, 0, 0, query, hits[0].score / 100, "dialogue")
    turn.parse = replace(turn.parse, entities=(*turn.parse.entities, entity))
    return entity


def decide(turn: Turn, intent: str) -> str:
    """The handler's intent for this turn, given the NLU's ``intent`` and what the message says."""
    lexicon = turn.services.lexicon
    text = turn.incoming.text
    parse = turn.parse
    place, category = parse.first("place"), parse.first("category")
    named_anything = place or category or parse.first("service")
    if lexicon.person_request.among(text):
        return "human_handoff"
    if intent in _VENTING and not named_anything and lexicon.frustration.among(text):
        return "frustration"
    if intent in _ABOUT_A_PLACE and lexicon.wrong_info.among(text) and turn.state.pending is None:
        return "feedback_wrong_info"  # "the info about Red Sea Mall is wrong"
    if intent == "human_handoff" and not lexicon.person_request.among(text):
        return "frustration"  # "you're not helping at all": an apology and the choice, not a queue
    if category is None and place is None and lexicon.outing.among(text):
        turn.outing = True
        return "find_place"
    about_recent = intent == "out_of_scope" and not parse.entities and turn.recent_place() is not None
    if about_recent and (lexicon.route.among(text) or lexicon.where.among(text)):
        return "directions"  # "كيف أصل إليه؟" about the place just discussed
    if (
        not parse.entities
        and intent in _NAME_SEARCH
        and (intent != "out_of_scope" or lexicon.where.among(text))
    ):
        found = _search_name(turn)
        if found is not None:
            place = found
            intent = "find_place"  # decided below: the place's card (or directions)
    cuisines = lexicon.wanted_cuisines(turn.asked())
    if cuisines and category is None:  # "a seafood place near the Corniche": a restaurant, near it
        _add_category(turn, "restaurant")
        category = turn.parse.first("category")
        if intent not in ("nearest_place", "find_place"):
            intent = "find_place"
    timed = intent == "out_of_scope" and parse.first("time") is not None and not (place or category)
    if timed and lexicon.filters.get("open_now", Phrases()).among(text):
        return "opening_hours"  # "جدة بارك بيكون فاتح الساعة 11؟": an hours question about a name
    where = intent == "contact_info" and place is not None and lexicon.where.among(text)
    if where and not lexicon.contact.among(_NUMBERED.sub(" ", text)):  # "الصالة رقم ١" names a hall
        return "directions"  # "فين مطار الملك عبدالعزيز": where, not a number
    if place is not None and intent in ("find_place", "nearest_place", "place_info", "out_of_scope"):
        apart = category is not None and not _inside(category, place) and not _next_to(category, place, text)
        if apart and _NEAR.search(text):
            return "nearest_place"  # "a pharmacy near Red Sea Mall": the place is the reference point
        area = turn.store.get(place.value)
        if apart and area is not None and area.district and _IN.search(text[: place.start]):
            # "any museums in Al-Balad?": the place names the area to search in
            turn.parse = replace(
                turn.parse,
                entities=tuple(
                    Entity("district", area.district, e.start, e.end, e.text, e.confidence, "dialogue")
                    if e is place
                    else e
                    for e in turn.parse.entities
                ),
            )
            return "find_place"
        if lexicon.where.among(text):
            return "directions"  # "where is X": the card with its pin, or a map search by its name
        return "place_info"
    if (
        intent in ("contact_info", "opening_hours", "place_info")
        and not parse.entities
        and turn.recent_place() is None
        and turn.state.pending is None
        and len(words(text)) >= UNNAMED_WORDS
    ):
        return "out_of_scope"  # "ابغى رقم حسابي البنكي": asks a number, but of no place in the city
    if intent in ("place_info", "opening_hours") and place is None and category is not None:
        recent = turn.recent_place()
        asks_a_name = lexicon.where.among(text) or parse.first("time") is not None
        named = lexicon.unknown_name(text, category.start, category.end) if asks_a_name else None
        if named is None and (recent is None or category.value not in recent.categories):
            intent = "find_place"  # "is there a museum with free entry?" asks for places of a kind
    if intent == "out_of_scope" and category is not None and place is None and _NEAR.search(text):
        return "nearest_place"  # "… Where is the nearest restaurant?" after a long story
    if intent == "out_of_scope" and category is not None:
        asks = lexicon.recommend.among(text) or cuisines or lexicon.wanted_filters(text)
        if asks or len(words(text)) <= FOLLOW_UP_WORDS:
            intent = "find_place"
    if (
        category is not None
        and place is None
        and parse.first("district") is None  # "and in Al-Rawdah?" searches there, not near the user
        and turn.state.last_intent == "nearest_place"
        and intent in _SEARCHES
        and len(words(text)) <= FOLLOW_UP_WORDS
    ):
        return "nearest_place"
    return intent
