"""Dalil's embedded NLU and Rasa 3.6 DIET side by side, on the same data, in one run.

1. Creates ``bench/.venv-rasa`` (Python 3.10 from pyenv, ``uv venv -p 3.10``) and installs
   ``rasa==3.6.21`` there, unless it already exists. Never part of Dalil's own install.
2. Trains DIET with ``rasa train nlu --config config.yml`` on the training files of ``data/nlu`` (the
   held-out ``data/nlu/test`` is kept out: Rasa reads folders recursively), timing it.
3. Trains the embedded engine on the same files (``bench.nlu_predict``, in its own process).
4. Parses the held-out file and the blind sets (``data/nlu/blind/<set>``) with both; reports accuracy,
   macro-F1, out-of-scope recall, place-entity recall, entity F1 (by value on held-out, by span and
   type on the blind sets), training time, parse p50/p99 and RSS, as a table (``--markdown`` for
   docs/benchmarks.md) and JSON.

The interpreter for Rasa is a real Python 3.10 (pyenv's install, checked by running it), never the
pyenv shim, which fails whenever another version is active.

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

from nlu.evaluate import EntityMatch, Report, evaluate
from nlu.training_data import Example, data_files, load_training_data
from nlu.types import Entity, IntentScore, Parse

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-rasa"
RASA_VERSION = "3.6.21"


def _runs(python: Path | str) -> bool:
    """Whether ``python`` starts and is 3.10 (a pyenv shim exists but fails when 3.10 is not active)."""
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == "(3, 10)"


def _python310() -> str:
    """A real Python 3.10 interpreter: pyenv's own install first, never the shim that fails."""
    candidates: list[Path | str] = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        if root:
            candidates += sorted(Path(root).glob("versions/3.10*/bin/python3.10"), reverse=True)
    candidates += sorted((Path.home() / ".pyenv" / "versions").glob("3.10*/bin/python3.10"), reverse=True)
    found = shutil.which("python3.10")
    if found and ".pyenv/shims" not in found:
        candidates.append(found)
    for candidate in candidates:
        if _runs(candidate):
            return str(candidate)
    sys.exit("Python 3.10 is needed for Rasa 3.6 (pyenv install 3.10)")


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


def score(
    predictions: list[dict[str, Any]], examples: list[Example], entity_match: EntityMatch = "value"
) -> Report:
    """Evaluate stored predictions against the gold examples."""
    answers = iter(_parse_from(p) for p in predictions)
    return evaluate(lambda _text: next(answers), examples, entity_match=entity_match)


def _test_sets(folder: Path) -> dict[str, list[Example]]:
    """Held-out and blind sets copied under ``folder`` (one sub-folder each), their examples in file order."""
    nlu = ROOT / "data" / "nlu"
    shutil.copytree(nlu / "test", folder / "held_out")
    blind = nlu / "blind"
    for sub in sorted(p for p in blind.iterdir() if p.is_dir() and data_files(p)) if blind.exists() else []:
        shutil.copytree(sub, folder / f"blind_{sub.name}")
    return {
        sub.name: [e for path in data_files(sub) for e in load_training_data([path]).examples]
        for sub in sorted(p for p in folder.iterdir() if p.is_dir())
    }


def run(keep_models: bool = False) -> dict[str, Any]:
    """Both engines, one held-out file; returns the results."""
    rasa = ensure_rasa()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sets = _test_sets(tmp / "sets")
        test_examples = [e for examples in sets.values() for e in examples]
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
                str(tmp / "sets"),
                str(ROOT / "data"),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        embedded_run = json.loads(out.stdout.strip().splitlines()[-1])
        for key in ("sets", "validation_curve"):
            embedded_run.pop(key, None)

    results: dict[str, Any] = {"examples": {name: len(examples) for name, examples in sets.items()}}
    for run_result in (embedded_run, rasa_run):
        predictions = run_result.pop("predictions")
        offset = 0
        for name, examples in sets.items():
            chunk = predictions[offset : offset + len(examples)]
            offset += len(examples)
            report = score(chunk, examples, "value" if name == "held_out" else "span")
            prefix = "" if name == "held_out" else f"{name}_"
            run_result.update(
                {
                    f"{prefix}accuracy": round(report.accuracy, 4),
                    f"{prefix}macro_f1": round(report.macro_f1, 4),
                    f"{prefix}oos_recall": round(report.oos_recall, 4),
                    f"{prefix}place_recall": report.entities.get("place", {}).get("recall", 0.0),
                    f"{prefix}entity_f1": report.entities.get("all", {}).get("f1", 0.0),
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
    blind = [name for name in results["examples"] if name != "held_out"]
    rows = [
        ("accuracy", "{:.2%}"),
        ("macro_f1", "{:.4f}"),
        ("oos_recall", "{:.4f}"),
        ("place_recall", "{:.4f}"),
        ("entity_f1", "{:.4f}"),
        *(
            (f"{name}_{metric}", fmt)
            for name in blind
            for metric, fmt in (("accuracy", "{:.2%}"), ("oos_recall", "{:.4f}"), ("entity_f1", "{:.4f}"))
        ),
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
        f"Examples: {results['examples']}. Parse {ratios['parse_speedup_p50']}× faster "
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
