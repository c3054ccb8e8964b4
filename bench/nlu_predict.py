"""Train and run the embedded NLU in a clean process; print timings, RSS and predictions as JSON.

Run in its own process (``python -m bench.nlu_predict TRAIN_DIR TEST_DIR``) so the memory figure is
that of a serving process: the model and the knowledge gazetteer, nothing the benchmark itself loaded.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from knowledge.loader import load_knowledge
from knowledge.store import Store
from nlu.classifier import train_intent_model
from nlu.embedded import EmbeddedParser, training_texts
from nlu.gazetteer import Gazetteer
from nlu.normalize import fold
from nlu.training_data import data_files, load_training_data


def main(train_dir: str, test_dir: str, data_dir: str = "data") -> None:
    """Train on ``train_dir``, parse every example of ``test_dir``; JSON on stdout."""
    store = Store.from_knowledge(load_knowledge(Path(data_dir)).kb, fold)
    train = load_training_data(data_files(train_dir))
    start = time.perf_counter()
    gazetteer = Gazetteer.from_store(store, train.synonyms)
    texts, labels = training_texts(train, gazetteer)
    model = train_intent_model(texts, labels, digest="bench")
    train_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "m.npz")
    parser = EmbeddedParser(model, gazetteer, train.lookups.get("arabizi_marker", ()))
    test = load_training_data(data_files(test_dir)).examples
    for example in test[:50]:
        parser.parse(example.text)  # warm caches, as a serving process would be
    predictions, latencies = [], []
    for _ in range(5):
        for example in test:
            begin = time.perf_counter()
            parser.parse(example.text)
            latencies.append(time.perf_counter() - begin)
    for example in test:
        predictions.append(parser.parse(example.text).to_dict())
    latencies.sort()
    print(
        json.dumps(
            {
                "engine": "embedded",
                "train_s": round(train_s, 3),
                "parse_p50_ms": round(latencies[len(latencies) // 2] * 1000, 4),
                "parse_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 4),
                "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "predictions": predictions,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
