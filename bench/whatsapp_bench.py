"""WhatsApp end to end: signed webhooks into ``dalil serve``, answers out to a fake Graph API.

``dalil serve`` (uvicorn, one worker: the send-rate limiter is per process) runs in a subprocess with
the WhatsApp channel pointed at the fake Graph API of the tests (Meta's wire format and validation),
which runs in this process together with the load generator. Two phases:

- **idle**: ``--idle`` messages one after another, each waiting for its answer: the webhook
  acknowledgement time (POST → 200) and the time to answer (POST → first answer message at the Graph
  API) of a single conversation;
- **burst**: ``--messages`` signed webhooks from distinct senders, ``--concurrency`` at a time: the
  acknowledgement time under load (Meta wants it fast; answers are sent in the background), how long
  until every answer is out, and the Graph API request rate against the limiter (default 80 msg/s),
  including the busiest one-second window as the Graph API saw it.

Run: ``uv run python -m bench.whatsapp_bench [--messages 400] [--concurrency 16] [--rate 80] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.http_bench import dalil_server
from bench.turn_bench import QUESTIONS, _percentile
from tests.connectors.fake_whatsapp import FakeGraph, Webhooks, serve, signed, whatsapp_env

REPO = Path(__file__).parents[1]
HOOK = "/webhooks/whatsapp"


@contextmanager
def _dalil(graph_url: str, rate: float, tmp: str) -> Iterator[str]:
    """``dalil serve`` in a subprocess, talking WhatsApp to ``graph_url``; yields its base URL."""
    config = Path(tmp) / "config.yml"
    config.write_text(
        (REPO / "config.yml")
        .read_text(encoding="utf-8")
        .replace("send_rate_per_s: 80", f"send_rate_per_s: {rate}"),
        encoding="utf-8",
    )
    serve = ["-m", "bot.cli", "--config", str(config), "serve"]
    with dalil_server(tmp, serve, 1, config, whatsapp_env(graph_url), "ERROR", ready_timeout_s=180) as port:
        yield f"http://127.0.0.1:{port}"


def _busiest_second(times: list[float]) -> int:
    """The most sends in any one-second window."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(_percentile(values, 0.5) * 1000, 1),
        "p99": round(_percentile(values, 0.99) * 1000, 1),
    }


async def _idle(client: httpx.AsyncClient, graph: FakeGraph, count: int) -> dict[str, Any]:
    acks: list[float] = []
    answers: list[float] = []
    baseline: list[float] = []
    for _ in range(count):  # the HTTP round trip alone, for comparison
        started = time.monotonic()
        await client.get("/healthz")
        baseline.append(time.monotonic() - started)
    for i in range(-3, count):  # three warm-up messages first, not counted
        hooks = Webhooks(wa_id=f"9664{i + 3:08d}", user_id=None)
        raw, headers = signed(hooks.text(QUESTIONS[i % len(QUESTIONS)][1]))
        started = time.monotonic()
        response = await client.post(HOOK, content=raw, headers=headers)
        ack = time.monotonic() - started
        assert response.status_code == 200, response.text  # noqa: S101
        wa_id = hooks.wa_id

        def answered(wa_id: str = wa_id) -> bool:
            return bool(graph.sent(to=wa_id))

        await graph.wait_for(answered, "an answer", timeout=30)
        if i >= 0:
            acks.append(ack)
            answers.append(graph.sent(to=wa_id)[0].at - started)
        await asyncio.sleep(0.05)
    return {"messages": count, "healthz_ms": _ms(baseline), "ack_ms": _ms(acks), "answer_ms": _ms(answers)}


async def _burst(client: httpx.AsyncClient, graph: FakeGraph, count: int, concurrency: int) -> dict[str, Any]:
    graph.clear()
    bodies = []
    for i in range(count):
        hooks = Webhooks(wa_id=f"9665{i:08d}", user_id=None)
        bodies.append((hooks.wa_id, *signed(hooks.text(QUESTIONS[i % len(QUESTIONS)][1]))))
    gate = asyncio.Semaphore(concurrency)
    acks: list[float] = []

    async def post(raw: bytes, headers: dict[str, str]) -> None:
        async with gate:
            started = time.monotonic()
            response = await client.post(HOOK, content=raw, headers=headers)
            acks.append(time.monotonic() - started)
            assert response.status_code == 200, response.text  # noqa: S101

    began = time.monotonic()
    await asyncio.gather(*(post(raw, headers) for _, raw, headers in bodies))
    accepted = time.monotonic() - began
    everyone = {wa_id for wa_id, _, _ in bodies}
    await graph.wait_for(lambda: everyone <= {c.to for c in graph.sent()}, "every answer", timeout=900)
    await graph.quiet(1.0)  # the last answers' follow-up messages
    requests = [c.at for c in graph.calls]
    took = max(requests) - began
    return {
        "messages": count,
        "concurrency": concurrency,
        "ack_ms": _ms(acks),
        "all_accepted_s": round(accepted, 2),
        "all_answered_s": round(took, 2),
        "graph_requests": len(requests),
        "answer_messages": len(graph.sent()),
        "graph_requests_per_s": round(len(requests) / took, 1),
        "busiest_second_requests": _busiest_second(requests),
        "errors": len(graph.failed()),
    }


async def _run(messages: int, idle: int, concurrency: int, rate: float) -> dict[str, Any]:
    graph = FakeGraph()
    async with serve(graph) as graph_url:
        with tempfile.TemporaryDirectory() as tmp, _dalil(graph_url, rate, tmp) as url:
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                quiet = await _idle(client, graph, idle)
                loaded = await _burst(client, graph, messages, concurrency)
    return {"rate_limit_per_s": rate, "idle": quiet, "burst": loaded}


def main() -> None:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=400, help="webhooks in the burst")
    parser.add_argument("--idle", type=int, default=40, help="messages answered one at a time")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=80.0, help="send-rate limit, messages per second")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(_run(args.messages, args.idle, args.concurrency, args.rate))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    idle, burst = result["idle"], result["burst"]
    print(f"idle, {idle['messages']} messages one at a time:")
    print(
        f"  GET /healthz (baseline)     p50 {idle['healthz_ms']['p50']} ms,"
        f" p99 {idle['healthz_ms']['p99']} ms"
    )
    print(f"  ack (POST -> 200)           p50 {idle['ack_ms']['p50']} ms, p99 {idle['ack_ms']['p99']} ms")
    print(
        f"  answer (POST -> first send) p50 {idle['answer_ms']['p50']} ms, p99 {idle['answer_ms']['p99']} ms"
    )
    print(f"burst, {burst['messages']} webhooks {burst['concurrency']} at a time, limit {args.rate:g} msg/s:")
    print(
        f"  ack p50 {burst['ack_ms']['p50']} ms, p99 {burst['ack_ms']['p99']} ms;"
        f" all accepted in {burst['all_accepted_s']} s"
    )
    print(
        f"  {burst['graph_requests']} Graph API requests ({burst['answer_messages']} answer messages,"
        f" the rest read receipts) in {burst['all_answered_s']} s = {burst['graph_requests_per_s']}/s;"
        f" busiest second {burst['busiest_second_requests']}; errors {burst['errors']}"
    )


if __name__ == "__main__":
    main()
