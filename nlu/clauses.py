"""Multi-sentence messages: which clause carries the request.

People greet, apologise or tell a story before they ask: "السلام عليكم، ابي اقرب صراف", "I was at the
Corniche yesterday and lost my wallet. Anyway, when does Red Sea Mall close?". The intent is the
question's, while the entities of the whole message still count (a place named in the story is still the
place). A message is cut at sentence punctuation, commas and line breaks; the clause kept is the last
question (it ends in a question mark or starts with a question word) that reads as a request (not a
greeting, thanks, yes/no, or out of scope). Without one the whole message is classified: a statement
after thanks ("thanks a lot, that helped") is part of the thanks, not a request for help.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["SOCIAL", "clauses", "pick_clause"]

SOCIAL = frozenset({"greet", "thanks", "goodbye", "affirm", "deny", "out_of_scope"})
"""Intents that frame a request rather than make one."""
_BOUNDARY = re.compile(r"[.!?؟;؛,،\n]+")
_LETTER = re.compile(r"[^\W\d_]")
_QUESTION_WORD = re.compile(
    r"^\W*(?:و|ف)?(?:وين|فين|وينه|متى|متي|كم|كيف|هل|ايش|إيش|وش|شو|شنو|ليش|مين|من وين|ما هو|ما هي|أين|اين|ماذا"
    r"|where|when|what|how|is|are|does|do|can|could|which|who|feen|fen|wain|wen|mata|kam|kaif|kif|eish|wesh)\b",
    re.IGNORECASE,
)


def clauses(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of ``text``'s clauses that contain a letter, in order."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if _LETTER.search(text[s:e])]


def _is_question(clause: str) -> bool:
    return clause.rstrip().endswith(("?", "؟")) or _QUESTION_WORD.search(clause) is not None


def pick_clause(
    text: str, classify: Callable[[int, int], Sequence[tuple[str, float]]]
) -> Sequence[tuple[str, float]] | None:
    """The ranking of the clause that carries the request, or None to classify ``text`` whole.

    Args:
        text: the message.
        classify: the ranking of ``text[start:end]``.
    """
    spans = clauses(text)
    if len(spans) < 2:
        return None
    for start, end in reversed(spans):
        if not _is_question(text[start:end]):
            continue
        ranking = classify(start, end)
        if ranking and ranking[0][0] not in SOCIAL:
            return ranking
    return None
