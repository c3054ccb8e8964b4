"""The embedded intent classifier: TF-IDF character and word n-grams, a linear SVM, calibrated softmax.

Training uses scikit-learn. Serving does not: the fitted vocabularies, IDF weights and coefficients are
exported to a small ``.npz`` file and scored with a few dictionary look-ups and one sparse dot product,
which reproduces scikit-learn's output exactly (tested) at a fraction of its per-call overhead, and keeps
scikit-learn out of the serving process's memory.

Names (places, districts) are replaced by their type (``__place__``, ``__district__``) before
featurising, so "متى يسكر رد سي مول" and "متى يسكر البلد" look alike to the model: intents generalise
across names. Kinds and times ("صيدلية", "بكرة") keep their words and gain a type token beside them:
the word itself often carries the intent ("بلاغ", "طريق").
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nlu.arabizi import to_arabic
from nlu.normalize import arabizi_fold, fold
from nlu.openset import OUT_OF_SCOPE, CurvePoint, decide, fit_threshold, open_set_curve

__all__ = ["FEATURIZER_VERSION", "IntentModel", "feature_text", "train_intent_model"]

FEATURIZER_VERSION = "7"
_REPLACED = frozenset({"place", "district"})
CV_FOLDS = 3
"""Folds of the cross-validation that calibrates confidence and tunes the open set."""
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
_WORD_TOKEN = re.compile(r"(?u)\b\w+\b")
_WHITESPACE = re.compile(r"\s\s+")
_PLACEHOLDER = "__{}__"


def feature_text(text: str, spans: Sequence[tuple[int, int, str]] = (), arabizi: bool = False) -> str:
    """The text the model sees: names replaced by their type, kinds tagged with theirs, then folded.

    For an Arabizi message (``arabizi``), its transliteration into Arabic script follows, so it shares
    features with the Arabic training examples (:mod:`nlu.arabizi`).
    """
    out, position = [], 0
    for start, end, entity in sorted(spans):
        if start < position:
            continue
        out.append(text[position:start])
        kept = text[start:end] if entity not in _REPLACED else ""
        out.append(f" {_PLACEHOLDER.format(entity)} {kept} ")
        position = end
    out.append(text[position:])
    masked = fold("".join(out))
    if arabizi:
        return f"{arabizi_fold(masked)} {fold(to_arabic(masked))}"
    return arabizi_fold(masked)


def _char_wb(text: str, low: int, high: int) -> list[str]:
    # scikit-learn's "char_wb" analyzer, reproduced exactly (including its short-word quirk).
    grams: list[str] = []
    for word in _WHITESPACE.sub(" ", text).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + n])
            while offset + n < length:
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:
                break
    return grams


def _words(text: str, low: int, high: int) -> list[str]:
    tokens = _WORD_TOKEN.findall(text)
    grams: list[str] = []
    for n in range(low, high + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


@dataclass
class IntentModel:
    """A fitted linear intent model, scored without scikit-learn."""

    classes: list[str]
    char_vocab: dict[str, int]
    word_vocab: dict[str, int]
    idf: npt.NDArray[np.float64]
    coef: npt.NDArray[np.float64]
    """(n_features, n_classes), column-major for fast row gathers."""
    intercept: npt.NDArray[np.float64]
    temperature: float
    digest: str
    oos_threshold: float = 0.0
    """Below this probability the best intent gives way to ``out_of_scope`` (see :mod:`nlu.openset`)."""
    validation_curve: list[dict[str, float]] = field(default_factory=list)
    """The OOS-recall / in-scope-accuracy curve the threshold was chosen on (out-of-fold predictions)."""

    def _features(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        indices: list[int] = []
        values: list[float] = []
        offset = len(self.char_vocab)
        for grams, vocab, base in (
            (_char_wb(text, *CHAR_NGRAMS), self.char_vocab, 0),
            (_words(text, *WORD_NGRAMS), self.word_vocab, offset),
        ):
            counts = Counter(g for g in grams if g in vocab)
            if not counts:
                continue
            idx = np.fromiter((vocab[g] + base for g in counts), dtype=np.int64, count=len(counts))
            tf = np.fromiter(
                (1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts)
            )
            weights = tf * self.idf[idx]
            weights /= np.linalg.norm(weights)
            indices.extend(idx.tolist())
            values.extend(weights.tolist())
        return np.asarray(indices, dtype=np.int64), np.asarray(values, dtype=np.float64)

    def logits(self, text: str) -> npt.NDArray[np.float64]:
        """Raw decision values per class for an already featurised text."""
        idx, values = self._features(text)
        scores: npt.NDArray[np.float64] = self.intercept + values @ self.coef[idx]
        return scores

    def predict(self, text: str) -> list[tuple[str, float]]:
        """``(intent, probability)`` for every class, most likely first."""
        logits = self.logits(text) / self.temperature
        logits -= logits.max()
        probs = np.exp(logits)
        probs /= probs.sum()
        order = np.argsort(-probs)
        return [(self.classes[i], float(probs[i])) for i in order]

    def decide(self, text: str) -> list[tuple[str, float]]:
        """:meth:`predict` with the open-set decision applied: unsure means ``out_of_scope``."""
        return decide(self.predict(text), self.oos_threshold)

    def save(self, path: Path) -> None:
        """Write the model as one ``.npz`` file (arrays plus JSON metadata)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "classes": self.classes,
            "char_vocab": self.char_vocab,
            "word_vocab": self.word_vocab,
            "temperature": self.temperature,
            "digest": self.digest,
            "featurizer": FEATURIZER_VERSION,
            "oos_threshold": self.oos_threshold,
            "validation_curve": self.validation_curve,
        }
        # A name of its own per writer: two processes training the same model at once (two workers, or
        # `nlu train` beside a starting server) must not rename each other's half-written file away.
        tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp.npz")
        np.savez_compressed(
            tmp,
            idf=self.idf,
            coef=self.coef,
            intercept=self.intercept,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        """Read a model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            return cls(
                classes=list(meta["classes"]),
                char_vocab=dict(meta["char_vocab"]),
                word_vocab=dict(meta["word_vocab"]),
                idf=data["idf"].astype(np.float64),
                coef=np.ascontiguousarray(data["coef"], dtype=np.float64),
                intercept=data["intercept"].astype(np.float64),
                temperature=float(meta["temperature"]),
                digest=str(meta["digest"]),
                oos_threshold=float(meta.get("oos_threshold", 0.0)),
                validation_curve=list(meta.get("validation_curve", [])),
            )


def _fit_temperature(logits: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]) -> float:
    """The softmax temperature that minimises negative log-likelihood of held-out predictions."""
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.05), math.log(5.0), 80)):
        scaled = logits / t
        scaled -= scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        nll = -float(log_probs[np.arange(len(labels)), labels].mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def _softmax(logits: npt.NDArray[np.float64], temperature: float) -> npt.NDArray[np.float64]:
    scaled = logits / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    probs: npt.NDArray[np.float64] = np.exp(scaled)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def train_intent_model(
    texts: Sequence[str],
    labels: Sequence[str],
    digest: str,
    c: float = 1.0,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> IntentModel:
    """Fit the model on featurised ``texts`` (see :func:`feature_text`), calibrate it, tune its open set.

    Calibration: the temperature of the softmax is fitted on cross-validated decision values (CV_FOLDS),
    so a confidence of 0.8 means right about 80 % of the time on unseen phrasing. The same out-of-fold
    probabilities choose the open-set threshold (:mod:`nlu.openset`). With ``groups`` (one name per
    example), examples of a group stay in one fold: out-of-scope domains are then held out whole, so
    the threshold is tuned on topics the fold's model never saw, as in the open world.
    """
    # scikit-learn is imported here only: serving never needs it.
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict
    from sklearn.svm import LinearSVC

    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, lowercase=False, dtype=np.float64
    )
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=WORD_NGRAMS,
        sublinear_tf=True,
        lowercase=False,
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regex, not a password
        dtype=np.float64,
    )
    features = hstack([char.fit_transform(texts), word.fit_transform(texts)]).tocsr()
    classifier = LinearSVC(C=c, random_state=seed)
    classifier.fit(features, labels)
    classes = [str(x) for x in classifier.classes_]
    label_idx = np.asarray([classes.index(x) for x in labels], dtype=np.int64)
    splits = max(2, min(CV_FOLDS, min(Counter(labels).values())))
    folds: StratifiedKFold | StratifiedGroupKFold = (
        StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
        if groups is not None
        else StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    )
    held_out = np.asarray(
        cross_val_predict(
            LinearSVC(C=c, random_state=seed),
            features,
            labels,
            cv=folds,
            groups=list(groups) if groups is not None else None,
            method="decision_function",
        ),
        dtype=np.float64,
    )
    temperature = _fit_temperature(held_out, label_idx)
    curve: list[CurvePoint] = []
    if OUT_OF_SCOPE in classes:
        curve = open_set_curve(_softmax(held_out, temperature), label_idx, classes.index(OUT_OF_SCOPE))
    idf = np.concatenate([char.idf_, word.idf_]).astype(np.float64)
    return IntentModel(
        classes=classes,
        char_vocab={str(k): int(v) for k, v in char.vocabulary_.items()},
        word_vocab={str(k): int(v) for k, v in word.vocabulary_.items()},
        idf=idf,
        coef=np.ascontiguousarray(classifier.coef_.T, dtype=np.float64),
        intercept=classifier.intercept_.astype(np.float64),
        temperature=temperature,
        digest=digest,
        oos_threshold=fit_threshold(curve) if curve else 0.0,
        validation_curve=[p.to_dict() for p in curve],
    )
