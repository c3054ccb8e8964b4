"""Runs INSIDE the Rasa 3.6 virtual environment (Python 3.10), started by ``bench/rasa_compare.py``.

Loads a trained Rasa NLU model, parses the held-out texts, and prints timings, RSS and predictions as
JSON in the same shape as ``bench/nlu_predict.py``. It imports nothing of Dalil's.
"""

import asyncio
import json
import resource
import sys
import time
from pathlib import Path


async def _run(model_path: str, texts_path: str) -> dict:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    texts = json.loads(Path(texts_path).read_text(encoding="utf-8"))  # noqa: ASYNC240 - once, before timing
    for text in texts[:50]:
        await agent.parse_message(text)
    latencies = []
    for _ in range(2):
        for text in texts:
            start = time.perf_counter()
            await agent.parse_message(text)
            latencies.append(time.perf_counter() - start)
    predictions = []
    for text in texts:
        result = await agent.parse_message(text)
        predictions.append(
            {
                "text": text,
                "intent": result.get("intent") or {},
                "intent_ranking": result.get("intent_ranking") or [],
                "entities": [
                    {k: e.get(k) for k in ("entity", "value", "start", "end", "confidence_entity")}
                    for e in result.get("entities") or []
                ],
            }
        )
    latencies.sort()
    return {
        "engine": "rasa-diet",
        "parse_p50_ms": round(latencies[len(latencies) // 2] * 1000, 4),
        "parse_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 4),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "predictions": predictions,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_run(sys.argv[1], sys.argv[2])), ensure_ascii=False))
