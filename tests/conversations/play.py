"""Plays scripted conversations (``tests/conversations/*.yml``) against Dalil and checks every turn.

The format is /work/wt/CONVERSATIONS_FORMAT.md, kept in ``tests/conversations/README.md``. Each
conversation runs over a channel, one fresh user per conversation:

- ``rest``: ``POST /webhooks/rest/webhook`` through the ASGI app, a shared location as
  ``metadata.location`` (the Rasa REST shape); the JSON messages are what is checked.
- ``console``: the console channel's own input handling (``/location LAT LON``, numbers for buttons)
  and its rendered text.

A turn's ``at`` pins the engine's clock for that turn (Asia/Riyadh). The intent a turn was answered as is
read from the engine's ``turn`` log record.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from ruamel.yaml import YAML

from bot.app import App
from bot.texts import BIDI_CONTROLS
from bot.types import HandoffNotice, Incoming, Reply, RequestLocation
from connectors.console import ConsoleChannel, render
from knowledge.hours import RIYADH

__all__ = ["Conversation", "Observed", "check_turn", "load_conversations", "play", "strings_in"]

KEYS = {
    "lang",
    "mentions_any",
    "mentions_all",
    "mentions_none",
    "pin",
    "list",
    "max_items",
    "sorted_by_distance",
    "max_km",
    "asks_location",
    "buttons_any",
    "handoff",
    "intent",
    "place",
}
_URL = re.compile(r"https?://\S+")
_MAP_URL = re.compile(
    r"https?://(?:www\.)?(?:google\.[a-z.]+/maps|maps\.google\.|openstreetmap\.org|maps\.apple\.com)"
)
_DISTANCE = re.compile(r"(\d+(?:[.,٫]\d+)?)\s*(km|كم|m|م)(?![\w])")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a\u0671-\u06d3]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ـ": None,
    }
)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩٫", "0123456789.")


_BIDI = "\u2066\u2067\u2068\u2069\u200e\u200f"


def fold(text: str, keep_bidi: bool = False) -> str:
    """Case- and Arabic-spelling-insensitive form: hamza/alef, taa marbuta, ya folded, diacritics removed.

    Bidi marks are removed too (a name wrapped in isolates is still mentioned), unless ``keep_bidi``:
    a check that asks about the marks themselves ("\u2068http") compares with them in place.
    """
    text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Mn")
    folded = text.translate(_FOLD).translate(_DIGITS).casefold()
    if keep_bidi:
        return folded
    return "".join(c for c in folded if c not in _BIDI)


def _mentioned(needle: str, seen: Observed) -> bool:
    marks = any(c in _BIDI for c in needle)
    return fold(needle, marks) in fold(" \n ".join(seen.everything), marks)


@dataclass
class Conversation:
    """One scripted conversation."""

    name: str
    variety: str
    classes: list[int]
    turns: list[dict[str, Any]]
    source: str = ""


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of one YAML file (checked for the format's keys)."""
    items = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or []
    out = []
    for item in items:
        for turn in item["turns"]:
            unknown = set(turn.get("expect") or {}) - KEYS
            if unknown:
                raise ValueError(f"{path.name}: {item['name']}: unknown expect keys {sorted(unknown)}")
        out.append(
            Conversation(
                str(item["name"]),
                str(item.get("variety", "")),
                list(item.get("classes") or []),
                list(item["turns"]),
                path.name,
            )
        )
    return out


@dataclass
class Observed:
    """What one turn's replies showed, whatever the channel."""

    texts: list[str] = field(default_factory=list)
    """The messages' own text (the language is judged on these)."""
    everything: list[str] = field(default_factory=list)
    """Every string shown: texts, buttons, choice rows, pins."""
    buttons: list[str] = field(default_factory=list)
    place_lists: list[list[str]] = field(default_factory=list)
    """Each list of places offered: the rows' place ids."""
    distances_m: list[list[float]] = field(default_factory=list)
    """Per list, the distances its rows show."""
    places: set[str] = field(default_factory=set)
    pin: bool = False
    asks_location: bool = False
    handoff: bool = False
    intent: str | None = None
    nlu_intent: str | None = None
    replies: int = 0
    marked: list[str] = field(default_factory=list)
    """Every string the channel sent (JSON values, terminal lines) that holds a bidi control character."""


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys and payloads included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def _marked(strings: Iterator[str] | list[str]) -> list[str]:
    return [s for s in strings if any(c in BIDI_CONTROLS for c in s)]


def _distances(text: str) -> list[float]:
    out = []
    plain = text.translate(_DIGITS).replace("\u2068", "").replace("\u2069", "")
    for number, unit in _DISTANCE.findall(plain):
        value = float(number.replace(",", "."))
        out.append(value * 1000 if unit in ("km", "كم") else value)
    return out


def _place_of(payload: str | None) -> str | None:
    if not payload:
        return None
    kind, _, value = payload.partition(":")
    return value if kind in ("place", "hours", "wrong") and value else None


def observe_rest(messages: list[dict[str, Any]]) -> Observed:
    """Read the REST channel's JSON messages."""
    seen = Observed(replies=len(messages), marked=_marked(strings_in(messages)))
    for message in messages:
        text = str(message.get("text") or "")
        custom = message.get("custom") or {}
        if text:
            seen.texts.append(text)
            seen.everything.append(text)
        rows: list[str] = []
        row_distances: list[float] = []
        for button in message.get("buttons") or []:
            title = str(button.get("title", ""))
            seen.buttons.append(title)
            seen.everything.append(title)
            url = str(button.get("url") or "")
            if _MAP_URL.match(url):
                seen.pin = True
            place = _place_of(button.get("payload"))
            if place:
                seen.places.add(place)
            if place and str(button.get("payload", "")).startswith("place:"):
                rows.append(place)
                description = str(button.get("description") or "")
                seen.everything.append(description)
                row_distances += _distances(description)
        only_places = rows and len(message.get("buttons") or []) == len(rows) and "custom" not in message
        if len(rows) >= 2 or only_places:
            seen.place_lists.append(rows)
            seen.distances_m.append(row_distances)
        kind = custom.get("type")
        if kind == "place_card":
            seen.places.add(str(custom.get("place_id")))
            if custom.get("location"):
                seen.pin = True
        elif kind == "location":
            seen.pin = True
            seen.everything.append(str(custom.get("name") or ""))
        elif kind == "request_location":
            seen.asks_location = True
        elif kind == "handoff":
            seen.handoff = True
        if _MAP_URL.search(text):
            seen.pin = True
    return seen


_OPTION = re.compile(r"^\s*\[(\d+)\]\s+(.*)$")


def observe_console(replies: list[Reply], shown: str, actions: list[str]) -> Observed:
    """Read the console's rendered text (and, for what text cannot tell, the reply kinds)."""
    seen = Observed(replies=len(replies), marked=_marked(shown.splitlines()))
    rows: list[str] = []
    row_distances: list[float] = []
    for line in shown.splitlines():
        if not line.strip():
            if rows:
                seen.place_lists.append(rows)
                seen.distances_m.append(row_distances)
            rows, row_distances = [], []
            continue
        seen.everything.append(line)
        option = _OPTION.match(line)
        if option:
            title = option.group(2)
            seen.buttons.append(title)
            payload = actions[int(option.group(1)) - 1]
            place = _place_of(payload)
            if place:
                seen.places.add(place)
            if payload.startswith("place:") and " — " in title:
                rows.append(payload[6:])
                row_distances += _distances(title.split(" — ", 1)[1])
            elif payload.startswith("place:") and not line.startswith("   "):
                rows.append(payload[6:])
            continue
        if line.startswith("   ") and ":" in line:
            seen.buttons.append(line.strip().split(":", 1)[0])
        else:
            seen.texts.append(line)
        if _MAP_URL.search(line) or line.startswith("📍"):
            seen.pin = True
        if "(/location LAT LON)" in line:
            seen.asks_location = True
    if rows:
        seen.place_lists.append(rows)
        seen.distances_m.append(row_distances)
    for reply in replies:
        seen.handoff |= isinstance(reply, HandoffNotice)
        seen.asks_location |= isinstance(reply, RequestLocation)
        place_id = getattr(reply, "place_id", None)
        if place_id:
            seen.places.add(place_id)
    return seen


def _lang(texts: list[str]) -> str | None:
    joined = _URL.sub(" ", " ".join(texts))
    arabic, latin = len(_ARABIC_LETTER.findall(joined)), len(_LATIN_LETTER.findall(joined))
    if not arabic and not latin:
        return None
    return "ar" if arabic >= latin else "en"


_MARKED_URL = re.compile(r"[\u2066-\u2069]\s*https?://|https?://\S*[\u2066-\u2069]")


def check_turn(expect: dict[str, Any], seen: Observed) -> list[str]:
    """The ways ``seen`` misses ``expect`` (empty when the turn passes).

    Always checked, whatever the expectations: some reply (never silence), no bidi mark around or inside a
    URL, and none at all anywhere: REST and the console render without them (docs/architecture.md).
    """
    problems = []
    if seen.marked:
        problems.append(f"bidi control characters in what the channel sent: {seen.marked[:2]!r}")
    marked = [m.group() for text in seen.everything for m in _MARKED_URL.finditer(text)]
    if marked:
        problems.append(f"bidi marks around or inside URLs: {marked[:2]}")
    if seen.replies == 0 or not any(s.strip() for s in seen.everything):
        problems.append("no reply (silence)")
    lang = _lang(seen.texts)
    if "lang" in expect and lang != expect["lang"]:
        problems.append(f"lang {lang!r}, expected {expect['lang']!r}")
    if "mentions_any" in expect and not any(_mentioned(str(m), seen) for m in expect["mentions_any"]):
        problems.append(f"mentions none of {expect['mentions_any']}")
    for wanted in expect.get("mentions_all") or []:
        if not _mentioned(str(wanted), seen):
            problems.append(f"does not mention {wanted!r}")
    for unwanted in expect.get("mentions_none") or []:
        if _mentioned(str(unwanted), seen):
            problems.append(f"mentions {unwanted!r}")
    if "pin" in expect and seen.pin != bool(expect["pin"]):
        problems.append(f"pin {seen.pin}, expected {expect['pin']}")
    listed = max((len(rows) for rows in seen.place_lists), default=0)
    if "list" in expect and (listed >= 2) != bool(expect["list"]):
        problems.append(f"list of {listed} places, expected list={expect['list']}")
    if "max_items" in expect and listed > int(expect["max_items"]):
        problems.append(f"{listed} places offered, at most {expect['max_items']} expected")
    distances = [d for ds in seen.distances_m for d in ds]
    if expect.get("sorted_by_distance"):
        if not distances:
            problems.append("no distances shown")
        elif any(ds != sorted(ds) for ds in seen.distances_m):
            problems.append(f"distances not ascending: {seen.distances_m}")
    if "max_km" in expect and any(d > float(expect["max_km"]) * 1000 for d in distances):
        problems.append(f"a distance over {expect['max_km']} km: {distances}")
    if "asks_location" in expect and seen.asks_location != bool(expect["asks_location"]):
        problems.append(f"asks_location {seen.asks_location}, expected {expect['asks_location']}")
    if "buttons_any" in expect and not any(
        fold(str(b)) in fold(title) for b in expect["buttons_any"] for title in seen.buttons
    ):
        problems.append(f"no button like {expect['buttons_any']} in {seen.buttons}")
    if "handoff" in expect and seen.handoff != bool(expect["handoff"]):
        problems.append(f"handoff {seen.handoff}, expected {expect['handoff']}")
    if "intent" in expect and expect["intent"] not in (seen.intent, seen.nlu_intent):
        problems.append(f"intent {seen.intent!r} (NLU {seen.nlu_intent!r}), expected {expect['intent']!r}")
    if "place" in expect and str(expect["place"]) not in seen.places:
        problems.append(f"not about place {expect['place']!r} (saw {sorted(seen.places)})")
    return problems


class _TurnLog(logging.Handler):
    """Keeps the intent of the engine's last ``turn`` log record."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.intent: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "turn":
            self.intent = getattr(record, "intent", None)


@contextmanager
def _turn_log() -> Iterator[_TurnLog]:
    logger = logging.getLogger("bot.engine")
    handler, level = _TurnLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _clock(app: App, at: str | None, default: datetime) -> None:
    moment = datetime.fromisoformat(at).replace(tzinfo=RIYADH) if at else default
    app.engine.clock = lambda: moment


async def play(app: App, api: FastAPI, conversation: Conversation, channel: str, now: datetime) -> list[str]:
    """Play ``conversation`` over ``channel``; the problems found, as "turn N: …" lines."""
    user = f"{channel}-{uuid.uuid4().hex[:10]}"
    problems: list[str] = []
    console = ConsoleChannel(app, user_id=user, colour=False)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        with _turn_log() as log:
            for number, turn in enumerate(conversation.turns, 1):
                _clock(app, turn.get("at"), now)
                say = str(turn.get("say") or "")
                location = turn.get("location")
                log.intent = None
                if channel == "rest":
                    body: dict[str, Any] = {"sender": user, "message": say}
                    if location:
                        body["metadata"] = {"location": {"lat": location["lat"], "lon": location["lon"]}}
                    response = await client.post("/webhooks/rest/webhook", json=body)
                    response.raise_for_status()
                    seen = observe_rest(response.json())
                else:
                    seen = await _console_turn(app, console, say, location)
                seen.intent = log.intent
                seen.nlu_intent = app.parser.parse(say).intent.name if say else None
                for problem in check_turn(turn.get("expect") or {}, seen):
                    problems.append(f"turn {number} ({say or location!r}): {problem}")
    return problems


async def _console_turn(app: App, console: ConsoleChannel, say: str, location: Any) -> Observed:
    replies: list[Reply] = []
    if location:
        shared = console._incoming(f"/location {location['lat']} {location['lon']}")
        assert shared is not None
        replies = await app.engine.handle(shared)
    if say:
        incoming: Incoming | None = console._incoming(say)
        assert incoming is not None
        replies = await app.engine.handle(incoming)
    shown, console.actions = render(replies)
    return observe_console(replies, shown, console.actions)
