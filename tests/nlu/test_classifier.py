"""The intent model: its serving path reproduces scikit-learn exactly; save/load round-trips."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from nlu.classifier import CHAR_NGRAMS, WORD_NGRAMS, IntentModel, feature_text, train_intent_model

TEXTS = [
    feature_text(t)
    for t in [
        "مرحبا",
        "السلام عليكم",
        "hello there",
        "hi",
        "وين اقرب صيدلية",
        "nearest pharmacy",
        "اقرب مسجد",
        "closest mosque to me",
        "متى يفتح المول",
        "is it open now",
        "متى يسكر",
        "opening hours please",
        "شكرا",
        "thanks a lot",
        "يعطيك العافية",
        "thank you",
    ]
]
LABELS = ["greet"] * 4 + ["nearest_place"] * 4 + ["opening_hours"] * 4 + ["thanks"] * 4


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return train_intent_model(TEXTS, LABELS, digest="test")


def test_serving_path_matches_scikit_learn(model: IntentModel) -> None:
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, lowercase=False)
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=WORD_NGRAMS,
        sublinear_tf=True,
        lowercase=False,
        token_pattern=r"(?u)\b\w+\b",
    )
    features = hstack([char.fit_transform(TEXTS), word.fit_transform(TEXTS)]).tocsr()
    reference = LinearSVC(C=1.0, random_state=0).fit(features, LABELS)
    probes = [feature_text(t) for t in ["وين اقرب صيدليه؟", "hello!!", "is the mall open", "x", "شكرا جزيلا"]]
    expected = reference.decision_function(hstack([char.transform(probes), word.transform(probes)]).tocsr())
    for probe, row in zip(probes, expected, strict=True):
        np.testing.assert_allclose(model.logits(probe), row, rtol=1e-9, atol=1e-9)


def test_predictions_are_a_calibrated_distribution(model: IntentModel) -> None:
    ranking = model.predict(feature_text("فين اقرب صيدليه"))
    assert ranking[0][0] == "nearest_place"
    assert sum(p for _, p in ranking) == pytest.approx(1.0)
    assert model.temperature > 0


def test_save_and_load_round_trip(model: IntentModel, tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = IntentModel.load(path)
    text = feature_text("متى يفتح المول")
    assert loaded.predict(text) == model.predict(text)
    assert loaded.digest == "test"


def test_concurrent_saves_of_one_model_both_succeed(model: IntentModel, tmp_path: Path) -> None:
    # Two processes (a starting server and `dalil nlu train`, or two workers) may write the same model at
    # once; neither may rename the other's temporary file away.
    path = tmp_path / "m.npz"
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(model.save, path) for _ in range(8)]:
            future.result()
    assert IntentModel.load(path).digest == "test"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_entity_spans_become_placeholders() -> None:
    assert feature_text("متى يسكر رد سي مول", [(9, 18, "place")]) == "متي يسكر __place__"
