"""HTTP throughput of ``POST /webhooks/rest/webhook``: uvicorn with N workers on loopback, a load generator.

Builds a fresh SQLite index from ``data/``, starts ``uvicorn --factory bot.http:factory --workers 2`` on a
free loopback port, waits until ``/readyz`` answers, then runs a small asyncio HTTP/1.1 keep-alive client
in a separate process (many concurrent connections, the turn benchmark's question mix, many senders) for
``--seconds``; reports turns/s and latency p50/p99 (goal: ≥ 1,000 turns/s, p99 ≤ 50 ms).
Run: ``uv run python -m bench.http_bench [--seconds 20] [--connections 32] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.turn_bench import NOW, QUESTIONS

REPO = Path(__file__).parents[1]
PATH = "/webhooks/rest/webhook"
REQUEST_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _bodies(users: int) -> list[bytes]:
    """Requests for ``users`` different senders, cycling through the question mix."""
    bodies = []
    for i in range(users):
        _, text, located = QUESTIONS[i % len(QUESTIONS)]
        body: dict[str, Any] = {"sender": f"bench-{i}", "message": text}
        if located:
            body["metadata"] = {"location": {"lat": 21.5433, "lon": 39.1728}}
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


def _request(port: int, body: bytes) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    port: int, requests: list[bytes], offset: int, until: float, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset

    async def exchange(request: bytes) -> bytes:
        writer.write(request)
        status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status_line

    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                status_line = await asyncio.wait_for(exchange(requests[i % len(requests)]), REQUEST_TIMEOUT_S)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return  # this connection is spent; the others go on
            i += 1
            if not status_line.startswith(b"HTTP/1.1 200"):
                errors.append(status_line.decode(errors="replace").strip())
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(port: int, connections: int, seconds: float, users: int) -> dict[str, Any]:
    requests = [_request(port, body) for body in _bodies(users)]
    latencies: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    step = max(1, users // connections)
    await asyncio.gather(
        *(_connection(port, requests, c * step, until, latencies, errors) for c in range(connections))
    )
    wall = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))] * 1000, 2)

    return {
        "turns": len(latencies),
        "seconds": round(wall, 2),
        "turns_per_s": round(len(latencies) / wall, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def _load_process(port: int, connections: int, seconds: float, users: int, out: Any) -> None:
    out.send(asyncio.run(_load(port, connections, seconds, users)))


def _wait_ready(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    ready = 0
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    ready += 1
                    if ready >= 8:  # several answers in a row: both workers are likely up
                        return
                    continue
        except OSError:
            pass
        ready = 0
        time.sleep(0.25)
    raise SystemExit(f"the server on port {port} did not become ready in {timeout_s:.0f} s")


@contextmanager
def dalil_server(
    tmp: str,
    command: list[str],
    workers: int,
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    log_level: str = "WARNING",
    ready_timeout_s: float = 120,
) -> Iterator[int]:
    """Dalil's HTTP app in a subprocess on a free loopback port, on a fresh SQLite index in ``tmp``.

    ``command`` is what follows ``python`` (the server's options, not host, port or workers); the index
    and the model are built first, once, as ``dalil serve`` does. Yields the port; stops it with SIGTERM.
    """
    full_env = {
        **os.environ,
        "DALIL_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "DALIL_DATA_DIR": str(REPO / "data"),
        "DALIL_MODEL_DIR": str(REPO / "models"),
        "DALIL_NOW": NOW,
        "DALIL_LOG_LEVEL": log_level,
    }
    full_env.pop("DALIL_REDIS_URL", None)  # memory state, unless the caller names a Redis
    full_env.update(env or {})
    configured = ["--config", str(config)] if config is not None else []
    subprocess.run(
        [sys.executable, "-m", "bot.cli", *configured, "kb", "build"],
        env=full_env, cwd=REPO, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, *command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=full_env, cwd=REPO, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_ready(port, ready_timeout_s)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=3000, help="distinct senders (default 3000)")
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument(
        "--db-dir",
        help="where the SQLite index goes (default: a temporary directory; /dev/shm takes the disk out)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        uvicorn = [
            "-m",
            "uvicorn",
            "bot.http:factory",
            "--factory",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with dalil_server(tmp, uvicorn, args.workers, ready_timeout_s=120) as port:
            context = multiprocessing.get_context("spawn")
            results = []
            for seconds in (args.warmup_seconds, args.seconds):
                receive, send = context.Pipe(duplex=False)
                loader = context.Process(
                    target=_load_process, args=(port, args.connections, seconds, args.users, send)
                )
                loader.start()
                if not receive.poll(seconds + 60):
                    loader.kill()
                    raise SystemExit("the load generator did not finish")
                results.append(receive.recv())
                loader.join()
            result = {**results[-1], "workers": args.workers, "connections": args.connections}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['turns']} turns in {result['seconds']} s over {args.connections} connections, "
        f"{args.workers} workers: {result['turns_per_s']} turns/s; "
        f"p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
        f"max {result['max_ms']} ms; errors {result['errors']} {result['first_errors']}"
    )


if __name__ == "__main__":
    main()
