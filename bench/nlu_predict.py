"""Train the embedded NLU as ``dalil nlu train`` does, then serve it in a clean process; print JSON.

``python -m bench.nlu_predict TRAIN_DIR TEST_PATH [DATA_DIR]`` trains on ``TRAIN_DIR`` (with the
product's augmentation and open-set tuning) and times it, saves the model, then starts a second process
that loads only what a server loads (the model file, the training data's synonyms, the knowledge
gazetteer) to parse every example of ``TEST_PATH``: its latency is a serving process's, without
scikit-learn, and ``rss_mb`` its peak RSS once loaded and warm (``rss_bench_mb`` adds the test sets and
the predictions this benchmark keeps).
``TEST_PATH`` may be a folder of folders (the blind sets): predictions come back per file.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge.loader import load_knowledge
from knowledge.store import Store
from nlu.classifier import IntentModel, train_intent_model
from nlu.embedded import AUGMENT, C, EmbeddedParser, gazetteer_for, training_set
from nlu.normalize import fold
from nlu.training_data import data_files, load_training_data

__all__ = ["main", "peak_rss_mb", "serve", "test_files", "train"]


def peak_rss_mb() -> float:
    """This process's peak RSS in MB.

    ``VmHWM`` from ``/proc`` where there is one: ``getrusage``'s ``ru_maxrss`` of a child started by
    ``subprocess`` starts at its parent's RSS (Linux keeps it across fork and exec), here a training
    process with scikit-learn loaded.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_files(path: Path) -> list[Path]:
    """The YAML files of ``path``, or of each of its sub-folders."""
    if path.is_file():
        return [path]
    files = data_files(path)
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        files += data_files(sub)
    return files


def train(
    train_dir: Path, data_dir: Path, model_path: Path, augment: Sequence[str] = AUGMENT
) -> dict[str, Any]:
    """Train and save the model; the training time, wall and CPU."""
    store = Store.from_knowledge(load_knowledge(data_dir).kb, fold)
    data = load_training_data(data_files(train_dir))
    wall, cpu = time.perf_counter(), time.process_time()
    gazetteer = gazetteer_for(store, data)
    texts, labels, groups = training_set(data, gazetteer, augment)
    model = train_intent_model(texts, labels, digest="bench", c=C, groups=groups)
    result = {
        "train_s": round(time.perf_counter() - wall, 3),
        "train_cpu_s": round(time.process_time() - cpu, 3),
        "train_examples": len(texts),
        "oos_threshold": model.oos_threshold,
        "validation_curve": model.validation_curve,
    }
    model.save(model_path)
    return result


def serve(
    model_path: Path, train_dir: Path, test_path: Path, data_dir: Path, raw: bool = False
) -> dict[str, Any]:
    """Load the model as a server does and parse every test example: latency, RSS, predictions.

    With ``raw``, the open-set threshold is off: the rankings are the classifier's own, for curves.
    """
    store = Store.from_knowledge(load_knowledge(data_dir).kb, fold)
    data = load_training_data(data_files(train_dir))
    model = IntentModel.load(model_path)
    if raw:
        model.oos_threshold = 0.0
    parser = EmbeddedParser(model, gazetteer_for(store, data), data.lookups.get("arabizi_marker", ()))
    for example in data.examples[::20]:
        parser.parse(example.text)  # warm caches, as a serving process would be
    serving_rss = peak_rss_mb()
    del data
    sets = {str(path): load_training_data([path]).examples for path in test_files(test_path)}
    texts = [e.text for examples in sets.values() for e in examples]
    latencies = []
    for _ in range(3):
        for text in texts:
            begin = time.perf_counter()
            parser.parse(text)
            latencies.append(time.perf_counter() - begin)
    latencies.sort()
    return {
        "engine": "embedded",
        "parse_p50_ms": round(latencies[len(latencies) // 2] * 1000, 4),
        "parse_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 4),
        "rss_mb": round(serving_rss, 1),
        "rss_bench_mb": round(peak_rss_mb(), 1),
        "sets": {name: [parser.parse(e.text).to_dict() for e in examples] for name, examples in sets.items()},
    }


def main(
    train_dir: str,
    test_path: str,
    data_dir: str = "data",
    augment: Sequence[str] = AUGMENT,
    raw: bool = False,
) -> dict[str, Any]:
    """Train here, serve in a child process; the combined results (``predictions``: all, in file order)."""
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "model.npz"
        trained = train(Path(train_dir), Path(data_dir), model_path, augment)
        mode = "--serve-raw" if raw else "--serve"
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.nlu_predict",
                mode,
                str(model_path),
                train_dir,
                test_path,
                data_dir,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    served: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    served.update(trained)
    served["predictions"] = [p for predictions in served["sets"].values() for p in predictions]
    return served


if __name__ == "__main__":
    if sys.argv[1] in ("--serve", "--serve-raw"):
        paths = [Path(a) for a in sys.argv[2:6]]
        result = serve(paths[0], paths[1], paths[2], paths[3], raw=sys.argv[1] == "--serve-raw")
    else:
        result = main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "data")
    print(json.dumps(result, ensure_ascii=False))
