"""The default NLU engine: normalise, extract entities from the knowledge base, classify the intent.

Models live under ``models/`` named by a hash of everything that shapes them (training data, featurizer
version, hyper-parameters), so ``dalil nlu train`` retrains only when one of those changed and a server
finds a matching model on start or trains one.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.store import Store
from nlu.augment import variants
from nlu.classifier import FEATURIZER_VERSION, IntentModel, feature_text, train_intent_model
from nlu.clauses import pick_clause
from nlu.gazetteer import Gazetteer
from nlu.normalize import fold, normalize, script
from nlu.training_data import TrainingData, data_files, load_training_data
from nlu.types import Entity, IntentScore, Parse
from nlu.unknown import UNKNOWN, common_words

__all__ = [
    "AUGMENT",
    "EmbeddedParser",
    "TrainedModel",
    "detect_lang",
    "ensure_model",
    "gazetteer_for",
    "is_arabizi",
    "model_path",
    "training_set",
    "training_texts",
]

log = logging.getLogger(__name__)

MAX_CHARS = 2_000
"""Longer messages are read up to here: nobody asks a city guide a question longer than that."""
C = 1.0
AUGMENT: tuple[str, ...] = ("typo", "arabizi")
"""Robustness variants (:mod:`nlu.augment`) added to the training data, for a share of the examples."""
AUGMENT_SHARE = 0.5
OUT_OF_SCOPE_SENTENCE_WORDS = 4
"""An out-of-scope message this long is a sentence about something else: its entities are dropped.
A shorter one keeps them only when it is little more than them (:func:`_bare_answer`)."""
_LETTERS = re.compile(r"[^\W\d_]")
_WORDS = re.compile(r"[^\W_]+")


def _bare_answer(text: str, entities: list[Entity]) -> bool:
    """Whether ``text`` is little more than its entities ("رد سي مول", "صيدلية؟", "الروضة لو سمحت").

    Such a message usually answers the bot's own question, so its entities are kept even when no intent
    fits; anything longer that is out of scope ("كم الساعة الحين", "ليش البنك خصم مني") keeps none.
    """
    words = list(_WORDS.finditer(text))
    if len(words) >= OUT_OF_SCOPE_SENTENCE_WORDS:
        return False
    outside = [m for m in words if not any(e.start <= m.start() < e.end for e in entities)]
    return len(outside) <= 1


_KIND_SEARCHES = frozenset({"find_place", "nearest_place"})


def _kind_only_in_names(entities: Sequence[Entity]) -> bool:
    """A search whose only kind word went into a name Dalil does not know: the kind is what it asks."""
    return any(e.extractor == UNKNOWN for e in entities) and not any(e.entity == "category" for e in entities)


_ARABIZI_DIGIT = re.compile(r"[a-z][2356789]|[2356789][a-z]")
_WORD = re.compile(r"[a-z0-9']+")
_EMOJI_INTENTS = {"👋": "greet", "🙏": "thanks", "👍": "affirm", "👎": "deny", "❤️": "thanks", "🌹": "thanks"}


def detect_lang(text: str, arabizi_words: frozenset[str] = frozenset()) -> str | None:
    """``ar`` or ``en`` for the language a message is written in; None when it has no letters.

    Arabic script is Arabic; Latin script is English unless it reads as Arabizi (letters mixed with
    Arabizi digits such as "a8rab", or common Arabizi words such as "feen", "abgha").
    """
    kind = script(text)
    if kind in ("ar", "mixed"):
        return "ar"
    if kind == "none":
        return None
    lowered = fold(text)
    if _ARABIZI_DIGIT.search(lowered):
        return "ar"
    words = _WORD.findall(lowered)
    hits = sum(1 for w in words if w in arabizi_words)
    return "ar" if (hits and hits * 3 >= len(words)) or hits >= 2 else "en"


def is_arabizi(text: str, arabizi_words: frozenset[str] = frozenset()) -> bool:
    """Arabic written in Latin letters: Latin script that :func:`detect_lang` reads as Arabic."""
    return script(text) == "en" and detect_lang(text, arabizi_words) == "ar"


def gazetteer_for(store: Store, data: TrainingData) -> Gazetteer:
    """The gazetteer of ``store`` for a model trained on ``data`` (its synonyms and common words)."""
    return Gazetteer.from_store(store, data.synonyms, common_words(data.examples))


def model_path(model_dir: Path, data: TrainingData, gazetteer: Gazetteer | None = None) -> Path:
    """Where the model for this training data (and these entity names) lives."""
    names = gazetteer.digest if gazetteer is not None else "-"
    recipe = f"{data.digest}|{names}|{FEATURIZER_VERSION}|C={C}|augment={','.join(AUGMENT)}@{AUGMENT_SHARE}"
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:20]
    return model_dir / f"intent-{digest}.npz"


def training_texts(data: TrainingData, gazetteer: Gazetteer | None = None) -> tuple[list[str], list[str]]:
    """The featurised texts and labels of ``data`` (no augmentation; see :func:`training_set`)."""
    texts, labels, _groups = training_set(data, gazetteer, augment=())
    return texts, labels


def training_set(
    data: TrainingData,
    gazetteer: Gazetteer | None = None,
    augment: Sequence[str] = AUGMENT,
    share: float = AUGMENT_SHARE,
) -> tuple[list[str], list[str], list[str]]:
    """The featurised texts, labels and validation groups of ``data`` plus its robustness variants.

    With a gazetteer, the entities it finds are marked as they will be when serving (spurious ones
    included), plus the annotated ones it misses: the model learns from what it will really see.
    """
    examples = list(data.examples) + (variants(data.examples, augment, share=share) if augment else [])
    arabizi_words = frozenset(fold(w) for w in data.lookups.get("arabizi_marker", ()))
    texts = []
    for example in examples:
        spans = [(a.start, a.end, a.entity) for a in example.entities]
        if gazetteer is not None:
            found = [(e.start, e.end, e.entity) for e in gazetteer.extract(normalize(example.text))]
            spans = found + [s for s in spans if not any(s[0] < f[1] and f[0] < s[1] for f in found)]
        texts.append(feature_text(example.text, spans, is_arabizi(example.text, arabizi_words)))
    return texts, [e.intent for e in examples], [e.group for e in examples]


@dataclass(frozen=True)
class TrainedModel:
    """A model and whether this call trained it."""

    model: IntentModel
    path: Path
    trained: bool
    seconds: float


def ensure_model(
    nlu_dir: Path, model_dir: Path, gazetteer: Gazetteer | None = None, force: bool = False
) -> TrainedModel:
    """Load the model matching the data in ``nlu_dir``, training and saving it first if none matches."""
    data = load_training_data(data_files(nlu_dir))
    for problem in data.problems:
        log.warning("nlu_data_problem %s", problem)
    path = model_path(model_dir, data, gazetteer)
    start = time.perf_counter()
    if path.exists() and not force:
        return TrainedModel(IntentModel.load(path), path, False, time.perf_counter() - start)
    texts, labels, groups = training_set(data, gazetteer)
    model = train_intent_model(texts, labels, digest=path.stem, c=C, groups=groups)
    model.save(path)
    for old in model_dir.glob("intent-*.npz"):
        if old != path:
            old.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    log.info(
        "nlu_trained",
        extra={
            "examples": len(texts),
            "seconds": round(seconds, 2),
            "model": path.name,
            "oos_threshold": model.oos_threshold,
        },
    )
    return TrainedModel(model, path, True, seconds)


class EmbeddedParser:
    """Normalise → gazetteer entities → linear intent model. Never raises on any text."""

    name = "embedded"

    def __init__(self, model: IntentModel, gazetteer: Gazetteer, arabizi_words: Iterable[str] = ()) -> None:
        """Serve ``model`` with entities from ``gazetteer``."""
        self.model = model
        self.gazetteer = gazetteer
        self.arabizi_words = frozenset(fold(w) for w in arabizi_words)

    @classmethod
    def from_data(cls, store: Store, nlu_dir: Path, model_dir: Path) -> EmbeddedParser:
        """Build from the knowledge index and the Rasa-format data (training the model if needed)."""
        data = load_training_data(data_files(nlu_dir))
        gazetteer = gazetteer_for(store, data)
        model = ensure_model(nlu_dir, model_dir, gazetteer).model
        return cls(model, gazetteer, data.lookups.get("arabizi_marker", ()))

    def parse(self, text: str) -> Parse:
        """Read one message."""
        text = text if isinstance(text, str) else ""
        head = text[:MAX_CHARS]
        norm = normalize(head)
        lang = detect_lang(head, self.arabizi_words)
        if not _LETTERS.search(norm.text):
            intent = next((i for e, i in _EMOJI_INTENTS.items() if e in head), "out_of_scope")
            score = IntentScore(intent, 1.0)
            return Parse(text, score, (score,), (), "ar" if lang is None else lang)  # type: ignore[arg-type]
        entities: list[Entity] = self.gazetteer.extract(norm)
        spans = [(e.start, e.end, e.entity) for e in entities]
        arabizi = lang == "ar" and script(head) == "en"

        def classify(start: int, end: int) -> list[tuple[str, float]]:
            inside = [(s - start, e - start, kind) for s, e, kind in spans if start <= s and e <= end]
            return self.model.decide(feature_text(head[start:end], inside, arabizi))

        ranking = pick_clause(head, classify) or classify(0, len(head))
        if ranking[0][0] == "out_of_scope" and not _bare_answer(head, entities):
            entities = []  # "ليش البنك خصم مني مرتين" mentions a bank; it asks nothing of a city guide
        elif ranking[0][0] in _KIND_SEARCHES and _kind_only_in_names(entities):
            entities = self.gazetteer.extract(norm, names=False)  # "ابي مطعم مندي": a kind, not a name
        scores = tuple(IntentScore(name, confidence) for name, confidence in ranking[:10])
        return Parse(text, scores[0], scores, tuple(entities), "ar" if lang is None else lang)  # type: ignore[arg-type]
