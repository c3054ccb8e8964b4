"""The open-data half of ``bench.kb_bench``: N synced OSM elements through sync, build, load and queries.

Everything is generated here (fictional names, random points) and lives in a temporary directory.
Run: ``uv run python -m bench.kb_bench --synced 50000 [--rss]``.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.kb_bench import AR_NAMES, AR_WORDS, EN_NAMES, EN_WORDS, measure_lookups
from knowledge.loader import load_knowledge
from knowledge.opendata import overpass
from knowledge.opendata.merge import with_open_data
from knowledge.opendata.snapshot import read_snapshots, write_snapshot
from knowledge.store import Store, build_index, make_engine
from nlu.normalize import fold

UNNAMED = ({"amenity": "pharmacy"}, {"amenity": "atm"}, {"amenity": "fuel"})


def generate_overpass(n: int, tag_sets: list[dict[str, str]], seed: int = 5) -> dict[str, Any]:
    """An Overpass JSON answer with ``n`` fictional elements over Jeddah."""
    rng = random.Random(seed)
    elements = []
    for i in range(n):
        lat, lon = rng.uniform(21.30, 21.85), rng.uniform(39.10, 39.30)
        if i % 5 == 0:
            tags = dict(rng.choice(UNNAMED))
        else:
            tags = {k: ("yes" if v == "*" else v) for k, v in rng.choice(tag_sets).items()}
            w, m = rng.randrange(len(AR_WORDS)), rng.randrange(len(AR_NAMES))
            tags["name"] = f"{AR_WORDS[w]} {AR_NAMES[m]} {i}"
            tags["name:en"] = f"{EN_NAMES[m].title()} {EN_WORDS[w % len(EN_WORDS)].title()} {i}"
            if i % 3 == 0:
                tags["opening_hours"] = "Sa-Th 09:00-23:00; Fr 16:00-23:00"
        if i % 4 == 0:
            elements.append(
                {"type": "way", "id": 10_000_000 + i, "center": {"lat": lat, "lon": lon}, "tags": tags}
            )
        else:
            elements.append({"type": "node", "id": 10_000_000 + i, "lat": lat, "lon": lon, "tags": tags})
    return {"version": 0.6, "generator": "bench/opendata_bench.py (fictional)", "elements": elements}


def _memory_mb() -> tuple[float, float]:
    """This process's resident memory now and its high-water mark (VmRSS, VmHWM), in MB.

    Read from /proc: ``ru_maxrss`` would carry the parent benchmark's own peak across ``exec``.
    """
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    values = dict(re.findall(r"(VmRSS|VmHWM):\s+(\d+)", status))
    return round(int(values["VmRSS"]) / 1024, 1), round(int(values["VmHWM"]) / 1024, 1)


def serving_memory() -> None:
    """In a fresh process: load the index as a worker does, then the NLU parser; print the memory."""
    from bot.settings import Settings
    from bot.wiring import KnowledgeService, make_parser

    settings = Settings.load("config.yml")
    store = KnowledgeService(settings).store(build_if_missing=False)
    index_now, _ = _memory_mb()
    make_parser(settings, store)
    now, high = _memory_mb()
    print(json.dumps({"index_rss_mb": index_now, "index_and_nlu_rss_mb": now, "peak_rss_mb": high}))


def _rss_mb(env: dict[str, str]) -> dict[str, dict[str, float]]:
    """The first start (trains the NLU model for the new gazetteer, as ``dalil serve`` does once), then
    a worker (loads index and model)."""
    code = "from bench.opendata_bench import serving_memory; serving_memory()"
    results = {}
    for run in ("first_start_trains_nlu", "worker"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        results[run] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def run_synced(n: int, rss: bool = False) -> dict[str, Any]:
    """Sync + build + queries for ``n`` synced elements; returns the measurements."""
    real = load_knowledge(Path("data")).kb
    tag_sets = [dict(t) for c in real.categories for t in c.osm if t]
    results: dict[str, Any] = {"synced_elements": n, "curated_places": len(real.places)}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "overpass.json"
        source.write_text(json.dumps(generate_overpass(n, tag_sets)), encoding="utf-8")
        opendata = Path(tmp) / "opendata"
        start = time.perf_counter()
        doc = json.loads(source.read_text(encoding="utf-8"))  # what `kb sync osm --input` does
        overpass.check_answer(doc)
        write_snapshot(opendata, "osm", doc, str(source))
        results["sync_s"] = round(time.perf_counter() - start, 3)
        del doc
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        start = time.perf_counter()
        curated = load_knowledge(Path("data")).kb  # what `kb build` does
        kb, merged = with_open_data(
            curated, read_snapshots(opendata), Path("data/overture_categories.yml"), fold=fold
        )
        results["merge_s"] = round(time.perf_counter() - start, 3)
        build_index(kb, engine, fold)
        results["sync_and_build_s"] = round(time.perf_counter() - start + results["sync_s"], 3)
        results["served_places"] = len(kb.places)
        results["per_layer"] = merged.per_layer()
        start = time.perf_counter()
        store = Store.load(engine, fold)
        results["load_s"] = round(time.perf_counter() - start, 3)
        engine.dispose()
        rng = random.Random(11)
        results["search"], results["nearest"], results["nearest_pharmacy"] = measure_lookups(
            store, rng, typo=False
        )
        if rss:
            env = {
                "DALIL_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "DALIL_MODEL_DIR": f"{tmp}/models",
                "DALIL_OPENDATA_DIR": str(opendata),
            }
            start = time.perf_counter()
            results["serving_rss"] = _rss_mb(env)
            results["serving_start_s"] = round(time.perf_counter() - start, 1)
    return results
