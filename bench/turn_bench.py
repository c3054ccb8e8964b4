"""One full turn in-process: ``Engine.handle`` on the bundled data, a realistic mix of questions, warm.

Each round every question is asked by a fresh user (so no turn leans on state from a previous one)
after a warm-up round; reports p50/p99 over all turns, overall and per language.
Questions about places are counted the way ``dalil serve`` counts them (in memory, written every few
seconds off the event loop); ``--write-through`` measures one database write per answer instead.
Run: ``uv run python -m bench.turn_bench [--rounds 30] [--write-through] [--json]`` (goal: p50 ≤ 2 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.app import build_app
from bot.settings import Settings
from bot.state import MemoryStateStore
from bot.types import GeoPoint, Incoming

REPO = Path(__file__).parents[1]
NOW = "2026-11-24T20:00:00"  # a Tuesday evening in Jeddah
JEDDAH = GeoPoint(21.5433, 39.1728)

# (language, text, shares location): what residents and visitors ask, as they type it.
QUESTIONS: tuple[tuple[str, str, bool], ...] = (
    ("ar", "مرحبا", False),
    ("ar", "وين نافورة الملك فهد", False),
    ("ar", "وين البلد", False),
    ("ar", "رد سي مول مفتوح الحين؟", False),
    ("ar", "متى يقفل رد سي مول", False),
    ("ar", "كم رقم مستشفى الثغر", False),
    ("ar", "أقرب صيدلية", True),
    ("ar", "وين المولات", False),
    ("ar", "مستشفيات في جدة", False),
    ("ar", "كيف أبلغ عن حفرة في الشارع", False),
    ("ar", "ابغى اكلم موظف", False),
    ("ar", "شكرا", False),
    ("ar", "وش دوام الأكواريوم في رمضان", False),
    ("ar", "كيف أطلع رخصة بلدية", False),
    ("en", "hi", False),
    ("en", "where is king fahd fountain", False),
    ("en", "is red sea mall open now?", False),
    ("en", "phone number of al thagher hospital", False),
    ("en", "nearest mall", True),
    ("en", "hospitals in jeddah", False),
    ("en", "how do I report a broken street light", False),
    ("en", "what can you do", False),
    ("en", "thanks, bye", False),
    ("en", "what's the weather tomorrow", False),
    ("arabizi", "marhaba", False),
    ("arabizi", "wen el balad", False),
    ("arabizi", "afdal mat3am fi jeddah", False),
    ("arabizi", "red sea mall maftoo7?", False),
    ("arabizi", "a8rab saydaliya", True),
    ("arabizi", "shukran", False),
)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _run(rounds: int, database_url: str | None, write_through: bool = False) -> dict[str, object]:
    env = {"DALIL_NOW": NOW, "DALIL_DATA_DIR": str(REPO / "data"), "DALIL_MODEL_DIR": str(REPO / "models")}
    if database_url:
        env["DALIL_DATABASE_URL"] = database_url
    settings = Settings.load(REPO / "config.yml", env=env)
    app = build_app(settings, states=MemoryStateStore())
    if not write_through:
        app.records.buffer_asks(5.0)  # as `dalil serve` counts questions about places
    engine = app.engine

    async def ask(user: str, text: str, located: bool) -> float:
        incoming = Incoming("bench", user, text=text, location=JEDDAH if located else None)
        started = time.perf_counter()
        await engine.handle(incoming)
        return time.perf_counter() - started

    for i, (_, text, located) in enumerate(QUESTIONS):  # warm-up: caches, lazy imports, DB pages
        await ask(f"warm-{i}", text, located)
    samples: dict[str, list[float]] = {"ar": [], "en": [], "arabizi": []}
    started = time.perf_counter()
    for r in range(rounds):
        for i, (lang, text, located) in enumerate(QUESTIONS):
            samples[lang].append(await ask(f"u{r}-{i}", text, located))
    wall = time.perf_counter() - started
    every = [s for group in samples.values() for s in group]

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "p50_ms": round(_percentile(values, 0.50) * 1000, 3),
            "p99_ms": round(_percentile(values, 0.99) * 1000, 3),
            "mean_ms": round(statistics.fmean(values) * 1000, 3),
        }

    app.records.flush_asks()
    app.knowledge.engine.dispose()
    return {
        "turns": len(every),
        "questions": len(QUESTIONS),
        "turns_per_s": round(len(every) / wall, 1),
        "all": summary(every),
        **{lang: summary(values) for lang, values in samples.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="times each question is asked (default 30)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file built from data/")
    parser.add_argument(
        "--write-through", action="store_true", help="one database write per place answer (before buffering)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        result = asyncio.run(_run(args.rounds, url, args.write_through))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['turns']} turns ({result['questions']} questions x rounds), {result['turns_per_s']} turns/s"
    )
    for key in ("all", "ar", "en", "arabizi"):
        s: Any = result[key]
        print(
            f"  {key:8} p50 {s['p50_ms']:7.3f} ms   p99 {s['p99_ms']:7.3f} ms   mean {s['mean_ms']:7.3f} ms"
        )


if __name__ == "__main__":
    main()
