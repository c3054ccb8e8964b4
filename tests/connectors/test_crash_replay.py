"""Crash and replay: ``dalil serve`` killed with SIGKILL mid-burst loses no acknowledged WhatsApp message.

The server runs as a real subprocess against the fake Graph API. A burst of signed webhooks (one person
each) is sent while Meta is slow, the process is killed at once (``kill -9``, no shutdown code runs),
then started again: every message that got its 200 is answered exactly once. The only exception the
design allows is a send that was on the wire at the moment of the kill: its outcome is unknown, so it
is parked (``delivery_unknown``) and never repeated.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bot.app import App
from tests.connectors.conftest import REPO
from tests.connectors.fake_whatsapp import FakeGraph, Webhooks, serve, signed, whatsapp_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BURST = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def database(base_app: App, tmp_path: Path) -> Path:
    """A copy of the built knowledge index, for the server process alone."""
    source = base_app.settings.database_url.removeprefix("sqlite:///")
    target = tmp_path / "dalil.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def _until_up(client: httpx.AsyncClient, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"dalil serve exited early:\n{_tail(log)}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"dalil serve did not start:\n{_tail(log)}")


def _parked(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as conn:
        return list(conn.execute("select user_id, reason from dalil_undelivered"))


async def test_kill_9_mid_burst_then_restart_answers_every_acknowledged_message_once(
    base_app: App, database: Path, tmp_path: Path
) -> None:
    graph = FakeGraph(delay_s=0.3)  # Meta is slow: many answers are under way when the process dies
    async with serve(graph) as api_url:
        env = {
            **os.environ,
            "DALIL_DATABASE_URL": f"sqlite:///{database}",
            "DALIL_MODEL_DIR": str(base_app.settings.model_dir),
            "DALIL_DATA_DIR": str(REPO / "data"),
            "DALIL_INBOX_LEASE_S": "1",
            "DALIL_LOG_LEVEL": "WARNING",
            **whatsapp_env(api_url),
        }
        env.pop("DALIL_REDIS_URL", None)
        port = _free_port()
        log = tmp_path / "serve.log"
        people = [f"96650{n:07d}" for n in range(BURST)]
        acknowledged: list[str] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            server = _start(env, port, log)
            try:
                await _until_up(client, server, log)

                async def deliver(wa_id: str) -> None:
                    raw, headers = signed(Webhooks(wa_id=wa_id).text("مرحبا"))
                    try:
                        response = await client.post("/webhooks/whatsapp", content=raw, headers=headers)
                    except httpx.TransportError:
                        return  # never acknowledged: Meta would deliver it again
                    if response.status_code == 200:
                        acknowledged.append(wa_id)

                async def kill_mid_burst() -> None:
                    await graph.wait_for(lambda: len(acknowledged) >= BURST // 3, "a third acknowledged")
                    server.send_signal(signal.SIGKILL)

                await asyncio.gather(kill_mid_burst(), *(deliver(p) for p in people))
                server.wait(10)
                answered_before = {c.to for c in graph.sent()}
                assert len(answered_before) < len(acknowledged), "the kill came too late to test anything"

                server = _start(env, port, log)
                await _until_up(client, server, log)

                def settled() -> bool:
                    parked = {user for user, _ in _parked(database)}
                    return all(p in parked or graph.sent(to=p) for p in acknowledged)

                await graph.wait_for(settled, "every acknowledged message answered or parked", timeout=60)
                await graph.quiet(1.5)  # the sweep has run again: nothing more may go out
            finally:
                server.kill()
                server.wait(10)

        parked = _parked(database)
        assert all(reason == "delivery_unknown" for _, reason in parked), parked
        assert len(parked) <= 5, parked  # only sends on the wire at the moment of the kill
        for person in acknowledged:
            bodies = Counter(repr(call.body) for call in graph.sent(to=person))
            assert all(n == 1 for n in bodies.values()), f"{person} got a message twice: {bodies}"
            if person not in {user for user, _ in parked}:
                assert bodies, f"{person} was acknowledged but never answered"
