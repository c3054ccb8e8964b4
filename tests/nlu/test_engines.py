"""The NLU engines end to end: the embedded parser on the bundled data, and the Rasa HTTP backend."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.loader import load_knowledge
from knowledge.store import Store
from nlu.embedded import EmbeddedParser, detect_lang, ensure_model
from nlu.engines import EngineConfig, make_parser
from nlu.normalize import fold
from nlu.rasa_http import NluUnavailableError, RasaHttpParser
from nlu.types import INTENTS, Parse, parse_async

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="session")
def store() -> Store:
    return Store.from_knowledge(load_knowledge(REPO / "data").kb, fold)


@pytest.fixture(scope="session")
def parser(store: Store, tmp_path_factory: pytest.TempPathFactory) -> EmbeddedParser:
    return EmbeddedParser.from_data(store, REPO / "data" / "nlu", tmp_path_factory.mktemp("models"))


def _valid(result: Parse, text: str) -> None:
    assert result.intent.name in INTENTS
    assert 0.0 <= result.intent.confidence <= 1.0
    assert result.lang in ("ar", "en")
    for entity in result.entities:
        assert 0 <= entity.start <= entity.end <= len(text)
        assert text[entity.start : entity.end] == entity.text


@pytest.mark.parametrize(
    ("text", "intent", "place"),
    [
        ("متى يسكر رد سي مول", "opening_hours", "red-sea-mall"),
        ("وين نافورة الملك فهد؟", "directions", "king-fahd-fountain"),
        ("feen nafourat al malik fahad", "directions", "king-fahd-fountain"),
        ("what's the phone number of king faisal specialist hospital", "contact_info", None),
        ("ابغى اقرب صيدلية", "nearest_place", None),
        ("how do I get to al balad", "directions", "al-balad"),
        ("ابغى اكلم موظف", "human_handoff", None),
        ("مرحبااااا", "greet", None),
    ],
)
def test_reads_what_people_write(parser: EmbeddedParser, text: str, intent: str, place: str | None) -> None:
    result = parser.parse(text)
    _valid(result, text)
    assert result.intent.name == intent
    if place is not None:
        assert [e.value for e in result.entities if e.entity == "place"] == [place]


def test_entity_offsets_point_into_the_original_text(parser: EmbeddedParser) -> None:
    text = "متى يسكـــر رَدْ سِي مُول ٩ الليل؟"
    result = parser.parse(text)
    _valid(result, text)
    place = next(e for e in result.entities if e.entity == "place")
    assert place.text == "رَدْ سِي مُول"
    time = next(e for e in result.entities if e.entity == "time")
    assert time.text == "٩ الليل"


def test_rasa_shaped_parse(parser: EmbeddedParser) -> None:
    body = parser.parse("is red sea mall open now").to_dict()
    assert body["text"] == "is red sea mall open now"
    assert body["intent"]["name"] == "opening_hours"
    assert body["intent_ranking"][0] == body["intent"]
    assert {"entity", "value", "start", "end", "confidence_entity", "extractor"} <= set(body["entities"][0])
    assert body["lang"] == "en"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("وين البلد", "ar"),
        ("where is al balad", "en"),
        ("feen al balad", "ar"),
        ("wain a8rab saydaliya", "ar"),
        ("ابغى mall قريب", "ar"),
        ("123 !!", None),
    ],
)
def test_language_detection(parser: EmbeddedParser, text: str, lang: str | None) -> None:
    assert detect_lang(text, parser.arabizi_words) == lang


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "x" * 100_000,
        "وين " * 30_000,
        "\x00\x01\x02\x1b[31m",
        "\u200f\u200e\u202b\u202c",
        "\u200d\u200c\ufeff",
        "👍",
        "😀😀😀",
        "a\u0301\u0301\u0301",
        "ابغى mall قريب 🙂 near Tahlia",
    ],
)
def test_bad_input_gives_a_valid_parse(parser: EmbeddedParser, text: str) -> None:
    _valid(parser.parse(text), text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_gives_a_valid_parse(parser: EmbeddedParser, text: str) -> None:
    _valid(parser.parse(text), text)


def test_model_is_retrained_only_when_data_changes(tmp_path: Path, store: Store) -> None:
    nlu = tmp_path / "nlu"
    shutil.copytree(REPO / "data" / "nlu", nlu, ignore=shutil.ignore_patterns("test"))
    models = tmp_path / "models"
    first = ensure_model(nlu, models)
    assert first.trained
    again = ensure_model(nlu, models)
    assert not again.trained
    assert again.path == first.path
    extra = "version: '3.1'\nnlu:\n- intent: greet\n  examples: |\n    - يا هلا والله بالطيبين\n"
    (nlu / "extra.yml").write_text(extra, encoding="utf-8")
    changed = ensure_model(nlu, models)
    assert changed.trained
    assert changed.path != first.path
    assert not first.path.exists()  # the old model is cleaned up


class _FakeRasa(BaseHTTPRequestHandler):
    """Speaks Rasa 3's ``POST /model/parse``."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["text"]
        if text == "broken":
            self._send(200, b"{not json")
            return
        start = text.find("Red Sea Mall")
        reply: dict[str, Any] = {
            "text": text,
            "intent": {"name": "opening_hours", "confidence": 0.91},
            "intent_ranking": [
                {"name": "opening_hours", "confidence": 0.91},
                {"name": "place_info", "confidence": 0.05},
            ],
            "entities": [
                {
                    "entity": "place",
                    "start": start,
                    "end": start + len("Red Sea Mall"),
                    "value": "red-sea-mall",
                    "confidence_entity": 0.98,
                    "extractor": "DIETClassifier",
                }
            ]
            if start >= 0
            else [],
        }
        self._send(200, json.dumps(reply).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def rasa_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_rasa_backend_maps_the_parse(rasa_url: str, store: Store, tmp_path: Path) -> None:
    parser = make_parser("rasa", EngineConfig(store, tmp_path, tmp_path, rasa_url=rasa_url))
    result = parser.parse("When does Red Sea Mall close?")
    assert result.intent.name == "opening_hours"
    assert result.intent.confidence == pytest.approx(0.91)
    assert [(e.entity, e.value, e.text) for e in result.entities] == [
        ("place", "red-sea-mall", "Red Sea Mall")
    ]
    assert result.lang == "en"


def test_rasa_backend_down_or_garbled_is_a_clear_error(rasa_url: str) -> None:
    with pytest.raises(NluUnavailableError, match="unexpected parse"):
        RasaHttpParser(rasa_url).parse("broken")
    with pytest.raises(NluUnavailableError, match="not answering"):
        RasaHttpParser("http://127.0.0.1:9", timeout_s=0.5).parse("hello")


def test_unknown_engine_is_named(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown NLU engine 'diet'"):
        make_parser("diet", EngineConfig(store, tmp_path, tmp_path))


@pytest.mark.parametrize(
    "text",
    [
        "ليش فيه سحوبات عشوائية بتطبيقي؟",
        "كم الساعة الحين؟",
        "ما هي عاصمة أستراليا؟",
        "my bank app is charging me twice",
        "who won the league this year",
    ],
)
def test_the_open_world_is_out_of_scope(parser: EmbeddedParser, text: str) -> None:
    result = parser.parse(text)
    assert result.intent.name == "out_of_scope"
    assert result.intent.confidence >= 0.45  # the bot's threshold: answered as out of scope, with buttons
    assert result.entities == ()  # "الحين" in "كم الساعة الحين" is no time to look a place up for


@pytest.mark.parametrize(
    ("text", "entity"),
    [("رد سي مول", ("place", "red-sea-mall")), ("الروضة لو سمحت", ("district", "ar-rawdah"))],
)
def test_a_bare_answer_keeps_its_entity(parser: EmbeddedParser, text: str, entity: tuple[str, str]) -> None:
    """Whatever intent it gets, a message that is little more than a name answers the bot's question."""
    assert entity in [(e.entity, e.value) for e in parser.parse(text).entities]


def test_an_unsure_reading_becomes_out_of_scope(parser: EmbeddedParser) -> None:
    threshold = parser.model.oos_threshold
    assert 0.0 < threshold < 1.0
    for text in ("الساعة كم في طوكيو", "xkcd 927", "رايح البحر بكرة مع الشباب"):
        result = parser.parse(text)
        if result.intent.name != "out_of_scope":
            assert result.intent.confidence >= threshold


@pytest.mark.parametrize(
    ("text", "intent", "entities"),
    [
        ("السلام عليكم، ابي اقرب صراف", "nearest_place", [("category", "bank")]),
        (
            "امس رحت الكورنيش مع العيال وكان الجو حلو بس المواقف زحمة. المهم، متى يسكر رد سي مول؟",
            "opening_hours",
            [("place", "jeddah-corniche"), ("category", "parking"), ("place", "red-sea-mall")],
        ),
        (
            "hi dalil! I'm visiting next week with my family. where is al balad?",
            "directions",
            [("place", "al-balad")],
        ),
        ("thanks a lot, that helped", "thanks", []),
        ("السلام عليكم ورحمة الله وبركاته", "greet", []),
    ],
)
def test_the_question_clause_decides_and_entities_come_from_the_whole_message(
    parser: EmbeddedParser, text: str, intent: str, entities: list[tuple[str, str]]
) -> None:
    result = parser.parse(text)
    _valid(result, text)
    assert result.intent.name == intent
    assert [(e.entity, e.value) for e in result.entities if e.entity != "time"] == entities


async def test_rasa_backend_async_maps_the_same_parse(rasa_url: str) -> None:
    parser = RasaHttpParser(rasa_url)
    blocking = parser.parse("When does Red Sea Mall close?")
    awaited = await parser.aparse("When does Red Sea Mall close?")
    assert awaited == blocking
    assert awaited.entities[0].value == "red-sea-mall"
    assert await parse_async(parser, "When does Red Sea Mall close?") == blocking


async def test_rasa_backend_async_down_or_garbled_is_a_clear_error(rasa_url: str) -> None:
    with pytest.raises(NluUnavailableError, match="unexpected parse"):
        await RasaHttpParser(rasa_url).aparse("broken")
    with pytest.raises(NluUnavailableError, match="not answering"):
        await RasaHttpParser("http://127.0.0.1:9", timeout_s=0.5).aparse("hello")


@pytest.mark.parametrize(
    ("text", "intent", "entities"),
    [
        # a search whose kind word went into an unknown "name" keeps the kind: "ضخمة" names nothing
        ("ابغى صيدلية ضخمة في الروضة", "find_place", [("category", "pharmacy"), ("district", "ar-rawdah")]),
        ("اقرب صيدلية ضخمة", "nearest_place", [("category", "pharmacy")]),
        # a place Dalil does not hold is still a place, named as said
        ("وين مستشفى بخش؟", "directions", [("place", "مستشفى بخش")]),
    ],
)
def test_a_search_keeps_its_kind_and_a_named_place_its_name(
    parser: EmbeddedParser, text: str, intent: str, entities: list[tuple[str, str]]
) -> None:
    result = parser.parse(text)
    assert result.intent.name == intent
    assert [(e.entity, e.value) for e in result.entities] == entities
