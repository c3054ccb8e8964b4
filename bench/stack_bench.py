"""The production stack under load: ``dalil serve --workers 2`` on PostgreSQL + Redis, then a soak.

Throughput and latency of ``POST /webhooks/rest/webhook`` (goal: ≥ 1,000 turns/s, p99 ≤ 50 ms), then a
soak with many distinct senders (default 100,000) while the workers' resident memory (RSS, read from
``/proc``) is sampled: it must stay flat, since the state lives in Redis and per-process maps are
bounded.

Local (no Docker; PostgreSQL and Redis on this machine; the index goes into a fresh schema, dropped
after; state keys go to Redis database 13, deleted after)::

    uv run python -m bench.stack_bench --seconds 20 --soak-seconds 600 --soak-users 100000

Against a running stack (``docker compose up``; the stack's own memory is then watched by Prometheus)::

    uv run python -m bench.stack_bench --url http://127.0.0.1:8000 --seconds 30 --soak-seconds 0
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.http_bench import _load_process, dalil_server

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/13"


def _rss_mb(pids: list[int]) -> dict[int, float]:
    sizes = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = round(int(line.split()[1]) / 1024, 1)
        except OSError:
            continue
    return sizes


def _run_load(port: int, connections: int, seconds: float, users: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    loader = context.Process(target=_load_process, args=(port, connections, seconds, users, send))
    loader.start()
    if not receive.poll(seconds + 120):
        loader.kill()
        raise SystemExit("the load generator did not finish")
    result: dict[str, Any] = receive.recv()
    loader.join()
    return result


def _soak(port: int, local: bool, args: argparse.Namespace) -> dict[str, Any]:
    """Load with ``--soak-users`` senders in slices, sampling the workers' RSS after each."""
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    while time.monotonic() - started < args.soak_seconds:
        result = _run_load(port, args.connections, args.soak_slice_seconds, args.soak_users)
        workers = _server_pids(port) if local else []
        samples.append(
            {
                "at_s": round(time.monotonic() - started),
                "turns_per_s": result["turns_per_s"],
                "p99_ms": result["p99_ms"],
                "errors": result["errors"],
                "rss_mb": _rss_mb(workers),
            }
        )
        print(json.dumps(samples[-1]), file=sys.stderr)
    return {"samples": samples}


def _schema_url(base: str) -> tuple[str, str]:
    schema = f"dalil_bench_{secrets.token_hex(4)}"
    return schema, f"{base}?options=-csearch_path%3D{schema}"


def _psql(base: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def _clear_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter("dalil:*", count=1000):
        client.delete(key)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Dalil (e.g. the compose stack); else one is started here")
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--soak-seconds", type=float, default=600.0)
    parser.add_argument("--soak-slice-seconds", type=float, default=30.0)
    parser.add_argument("--soak-users", type=int, default=100_000)
    args = parser.parse_args()

    if args.url:
        port = urlsplit(args.url).port or 80
        _run_load(port, args.connections, args.warmup_seconds, args.users)
        result: dict[str, Any] = {"load": _run_load(port, args.connections, args.seconds, args.users)}
        if args.soak_seconds > 0:
            result["soak"] = _soak(port, False, args)
        print(json.dumps(result, indent=2))
        return

    schema, database = _schema_url(args.postgres)
    _psql(args.postgres, f'create schema "{schema}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"DALIL_DATABASE_URL": database, "DALIL_REDIS_URL": args.redis}
            command = ["-m", "bot.cli", "serve"]
            with dalil_server(tmp, command, args.workers, env=env) as port:
                _run_load(port, args.connections, args.warmup_seconds, args.users)
                result = {"load": _run_load(port, args.connections, args.seconds, args.users)}
                result["rss_after_load_mb"] = _rss_mb(_server_pids(port))
                if args.soak_seconds > 0:
                    result["soak"] = _soak(port, True, args)
    finally:
        _psql(args.postgres, f'drop schema "{schema}" cascade')
        _clear_redis(args.redis)
    print(json.dumps(result, indent=2))


def _server_pids(port: int) -> list[int]:
    """The processes holding the listening socket on ``port``: uvicorn's supervisor and its workers."""
    try:
        out = subprocess.run(
            ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
        )
    except OSError:
        return []
    return sorted({int(part.split(",")[0]) for part in out.stdout.split("pid=")[1:]})


if __name__ == "__main__":
    main()
