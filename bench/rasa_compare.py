"""Dalil's embedded NLU and Rasa 3.6 DIET side by side, on the same data, in one run.

1. Creates ``bench/.venv-rasa`` (Python 3.10 from pyenv, ``uv venv -p 3.10``) and installs
   ``rasa==3.6.21`` there, unless it already exists. Never part of Dalil's own install.
2. Trains DIET with ``rasa train nlu --config config.yml`` on the training files of ``data/nlu`` (the
   held-out ``data/nlu/test`` is kept out: Rasa reads folders recursively), timing it.
3. Trains the embedded engine on the same files (``bench.nlu_predict``, in its own process).
4. Parses the held-out file with both; reports accuracy, macro-F1, place-entity recall, training time,
   parse p50/p99 and peak RSS, as a table (``--markdown`` for docs/benchmarks.md) and JSON.

Run: ``uv run python -m bench.rasa_compare [--markdown]`` (the first run downloads Rasa: minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nlu.evaluate import Report, evaluate
from nlu.training_data import Example, data_files, load_training_data
from nlu.types import Entity, IntentScore, Parse

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-rasa"
RASA_VERSION = "3.6.21"


def _python310() -> str:
    found = shutil.which("python3.10")
    if found:
        return found
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = sorted(pyenv.glob("3.10*/bin/python3.10")) if pyenv.exists() else []
    if not candidates:
        sys.exit("Python 3.10 is needed for Rasa 3.6 (pyenv install 3.10)")
    return str(candidates[-1])


def ensure_rasa() -> Path:
    """The Rasa venv's ``rasa`` executable, installing it the first time."""
    rasa = VENV / "bin" / "rasa"
    if rasa.exists():
        return rasa
    subprocess.run(["uv", "venv", "-p", _python310(), str(VENV)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(VENV)}
    subprocess.run(["uv", "pip", "install", f"rasa=={RASA_VERSION}"], check=True, env=env)
    return rasa


def _parse_from(prediction: dict[str, Any]) -> Parse:
    intent = prediction.get("intent") or {}
    name = str(intent.get("name") or "out_of_scope")
    name = "out_of_scope" if name == "nlu_fallback" else name
    entities = tuple(
        Entity(
            str(e["entity"]),
            str(e.get("value")),
            int(e.get("start") or 0),
            int(e.get("end") or 0),
            "",
            float(e.get("confidence_entity") or e.get("confidence") or 1.0),
        )
        for e in prediction.get("entities") or []
    )
    return Parse(
        prediction.get("text", ""), IntentScore(name, float(intent.get("confidence") or 0.0)), (), entities
    )


def score(predictions: list[dict[str, Any]], examples: list[Example]) -> Report:
    """Evaluate stored predictions against the gold examples."""
    answers = iter(_parse_from(p) for p in predictions)
    return evaluate(lambda _text: next(answers), examples)


def run(keep_models: bool = False) -> dict[str, Any]:
    """Both engines, one held-out file; returns the results."""
    rasa = ensure_rasa()
    test_examples = load_training_data(data_files(ROOT / "data" / "nlu" / "test")).examples
    results: dict[str, Any] = {"held_out_examples": len(test_examples)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        train_dir = tmp / "nlu"
        train_dir.mkdir()
        for path in data_files(ROOT / "data" / "nlu"):
            shutil.copy(path, train_dir / path.name)
        texts_file = tmp / "texts.json"
        texts_file.write_text(
            json.dumps([e.text for e in test_examples], ensure_ascii=False), encoding="utf-8"
        )

        start = time.perf_counter()
        subprocess.run(
            [
                str(rasa),
                "train",
                "nlu",
                "--config",
                str(ROOT / "config.yml"),
                "--nlu",
                str(train_dir),
                "--out",
                str(tmp / "models"),
                "--fixed-model-name",
                "diet",
            ],
            check=True,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
        )
        rasa_train_s = time.perf_counter() - start
        model = next((tmp / "models").glob("diet*.tar.gz"))
        if keep_models:
            shutil.copy(model, ROOT / "bench" / model.name)
        out = subprocess.run(
            [
                str(VENV / "bin" / "python"),
                str(ROOT / "bench" / "rasa_predict.py"),
                str(model),
                str(texts_file),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        rasa_run = json.loads(out.stdout.strip().splitlines()[-1])
        rasa_run["train_s"] = round(rasa_train_s, 2)

        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.nlu_predict",
                str(train_dir),
                str(ROOT / "data" / "nlu" / "test"),
                str(ROOT / "data"),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        embedded_run = json.loads(out.stdout.strip().splitlines()[-1])

    for run_result in (embedded_run, rasa_run):
        report = score(run_result.pop("predictions"), test_examples)
        run_result.update(
            {
                "accuracy": round(report.accuracy, 4),
                "macro_f1": round(report.macro_f1, 4),
                "place_recall": report.entities.get("place", {}).get("recall", 0.0),
                "entity_f1": report.entities.get("all", {}).get("f1", 0.0),
            }
        )
        results[run_result["engine"]] = run_result
    e, r = results["embedded"], results["rasa-diet"]
    results["ratios"] = {
        "parse_speedup_p50": round(r["parse_p50_ms"] / e["parse_p50_ms"], 1),
        "train_speedup": round(r["train_s"] / max(e["train_s"], 1e-6), 1),
        "memory_ratio": round(e["rss_mb"] / r["rss_mb"], 3),
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    """The results as a table for docs/benchmarks.md."""
    rows = [
        ("accuracy", "{:.2%}"),
        ("macro_f1", "{:.4f}"),
        ("place_recall", "{:.4f}"),
        ("entity_f1", "{:.4f}"),
        ("train_s", "{:.2f} s"),
        ("parse_p50_ms", "{:.3f} ms"),
        ("parse_p99_ms", "{:.3f} ms"),
        ("rss_mb", "{:.0f} MB"),
    ]
    e, r = results["embedded"], results["rasa-diet"]
    lines = ["| metric | Dalil embedded | Rasa 3.6 DIET |", "|---|---|---|"]
    lines += [f"| {name} | {fmt.format(e[name])} | {fmt.format(r[name])} |" for name, fmt in rows]
    ratios = results["ratios"]
    lines += [
        "",
        f"Held-out examples: {results['held_out_examples']}. Parse {ratios['parse_speedup_p50']}× faster "
        f"(p50), training {ratios['train_speedup']}× faster, memory {ratios['memory_ratio']:.2f}× of Rasa's.",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    parser.add_argument("--keep-models", action="store_true", help="copy the trained Rasa model into bench/")
    args = parser.parse_args()
    results = run(args.keep_models)
    print(json.dumps(results, indent=2))
    if args.markdown:
        print()
        print(markdown(results))


if __name__ == "__main__":
    main()
