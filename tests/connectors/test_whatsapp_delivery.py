"""WhatsApp delivery: a redelivered message answered once, retries, rate limits, the 24-hour window.

Failures are injected at the fake Graph API (tests/connectors/fake_whatsapp/) and checked as it saw them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

import pytest
from redis.asyncio import Redis

from bot.app import App
from connectors.whatsapp import (
    RateLimiter,
)
from tests.conftest import REDIS_URL
from tests.connectors.conftest import HOOK, Harness, running
from tests.connectors.fake_whatsapp import (
    APP_SECRET,
    TOKEN,
    VERIFY_TOKEN,
    FakeGraph,
)

# --- exactly once ---------------------------------------------------------------------------------------


async def test_a_redelivered_message_is_answered_once(wa: Harness) -> None:
    payload = wa.hooks.text("مرحبا")
    first, again = await asyncio.gather(wa.deliver(payload), wa.deliver(payload))
    assert (first.status_code, again.status_code) == (200, 200)
    await wa.deliver(payload)
    await wa.settle()
    assert len(wa.api.sent()) == 1
    assert len(wa.api.reads()) == 1


@pytest.mark.redis
async def test_two_workers_sharing_redis_answer_a_redelivery_once(
    base_app: App, graph: tuple[FakeGraph, str]
) -> None:
    server = graph[0]
    probe = Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        await probe.aclose()
    number = f"1065{secrets.randbelow(10**9)}"
    async with (
        running(base_app, graph, redis_url=REDIS_URL, whatsapp_phone_number_id=number) as one,
        running(base_app, graph, redis_url=REDIS_URL, whatsapp_phone_number_id=number) as two,
    ):
        server.phone_number_id = number
        payload = one.hooks.text("مرحبا")
        value = payload["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = number
        await asyncio.gather(one.deliver(payload), two.deliver(payload))
        await one.settle()
        await two.settle()
        assert len(server.sent()) == 1


# --- delivery -------------------------------------------------------------------------------------------


async def test_server_errors_are_retried_and_the_answer_is_delivered_once(wa: Harness) -> None:
    wa.api.fail(status=500, times=1, kind="text")
    wa.api.fail(status=503, times=1, kind="text")
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.sent("text")) == 1
    assert [call.status for call in wa.api.failed()] == [500, 503]


@pytest.mark.parametrize("code", [130429, 131056])
async def test_rate_limits_are_waited_out(wa: Harness, code: int) -> None:
    wa.api.fail(code, times=2, kind="text")
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.sent("text")) == 1
    assert [call.error_code for call in wa.api.failed()] == [code, code]


async def test_retries_are_bounded_and_the_failure_is_kept(wa: Harness) -> None:
    wa.api.fail(status=502, times=50, kind="text")
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert wa.api.sent("text") == []
    assert len(wa.api.failed()) == wa.channel.retries + 1
    (kept,) = wa.rows("undelivered")
    assert kept["reason"].startswith("error:")
    assert kept["channel"] == "whatsapp"


async def test_an_unreachable_api_is_retried_then_the_answer_kept(base_app: App) -> None:
    async with running(base_app, (FakeGraph(), "http://127.0.0.1:9/v25.0")) as wa:  # nothing listens there
        await wa.deliver(wa.hooks.text("شكرا"))
        await wa.settle()
        (kept,) = wa.rows("undelivered")
        assert kept["reason"] == "error:ConnectError"
        retried = wa.app.metrics.deliveries.labels("whatsapp", "retried")._value.get()
        assert retried >= wa.channel.retries


async def test_no_secret_or_phone_number_in_the_logs(wa: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wa.api.fail(status=500, times=1)
    await wa.deliver(wa.hooks.text("كم رقم مستشفى الثغر"))
    await wa.deliver(wa.hooks.location(21.5433, 39.1728))
    await wa.client.post(HOOK, content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
    await wa.settle()
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (TOKEN, APP_SECRET, VERIFY_TOKEN, wa.wa_id, "21.5433"):
        assert secret not in logged


async def test_refused_message_is_not_retried(wa: Harness) -> None:
    wa.api.fail(131026, times=5, kind="text")  # receiver incapable: retrying cannot help
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.failed()) == 1


@pytest.mark.reengagement_template("dalil_reengage")
async def test_outside_the_window_the_template_is_sent_once(wa: Harness) -> None:
    wa.api.fail(131047, times=1, kind="interactive")
    await wa.deliver(wa.hooks.text("وش تعرف عن روشان مول"))
    await wa.settle()
    (template,) = wa.api.sent("template")
    assert template.body["template"] == {"name": "dalil_reengage", "language": {"code": "ar"}}
    assert wa.api.sent("location") == []  # the rest of that answer waits for the person
    (kept,) = wa.rows("undelivered")
    assert (kept["reason"], kept["error_code"]) == ("outside_window_template_sent", 131047)
    assert "روشان مول" in kept["text"]


async def test_outside_the_window_without_a_template_the_answer_is_kept_and_nothing_loops(
    wa: Harness,
) -> None:
    wa.api.fail(131047, times=10)
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.failed()) == 1
    assert wa.api.sent() == []
    (kept,) = wa.rows("undelivered")
    assert kept["reason"] == "outside_window"


@pytest.mark.reengagement_template("dalil_reengage")
async def test_a_failing_template_is_not_retried_into_a_loop(wa: Harness) -> None:
    wa.api.fail(131047, times=10)
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert [call.type for call in wa.api.failed()] == ["text", "template"]
    (kept,) = wa.rows("undelivered")
    assert kept["reason"] == "outside_window_template_failed"


@pytest.mark.reengagement_template("dalil_reengage")
async def test_a_late_delivery_past_24_hours_goes_to_the_template(wa: Harness) -> None:
    old = int(time.time()) - 25 * 3600
    await wa.deliver(wa.hooks.text("شكرا", timestamp=old))
    await wa.deliver(wa.hooks.text("مع السلامة", timestamp=old + 60))  # more of the same backlog
    await wa.settle()
    assert [call.type for call in wa.api.sent()] == ["template"]  # one invitation, not one each
    reasons = [row["reason"] for row in wa.rows("undelivered")]
    assert reasons == ["outside_window_template_recent", "outside_window_template_sent"]


@pytest.mark.reengagement_template("dalil_reengage")
async def test_a_failed_status_131047_sends_the_template_once(wa: Harness) -> None:
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    ours = wa.api.sent("text")[0].response["messages"][0]["id"]
    failed = wa.hooks.status(ours, "failed", errors=[{"code": 131047, "title": "Re-engagement message"}])
    await wa.deliver(failed)
    await wa.deliver(failed)  # redelivered
    await wa.settle()
    (template,) = wa.api.sent("template")
    wamid = template.response["messages"][0]["id"]
    await wa.deliver(wa.hooks.status(wamid, "failed", errors=[{"code": 131047, "title": "x"}]))
    await wa.settle()
    assert len(wa.api.sent("template")) == 1


async def test_mark_read_failing_does_not_stop_the_answer(wa: Harness) -> None:
    wa.api.fail_when(lambda body: body.get("status") == "read", 131000, times=1)
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.sent("text")) == 1


async def test_messages_still_unanswered_at_shutdown_are_kept(wa: Harness) -> None:
    wa.api.delay_s = 1.0  # Meta is slow; the server is told to stop meanwhile
    wa.channel.drain_s = 0.05
    await wa.deliver(wa.hooks.text("وين البلد"))
    await asyncio.sleep(0.05)
    await wa.channel.shutdown()
    (kept,) = wa.rows("undelivered")
    assert (kept["reason"], kept["text"]) == ("not_answered_shutdown", "وين البلد")


async def test_rate_limiter_spaces_sends() -> None:
    limiter = RateLimiter(50)
    started = time.monotonic()
    for _ in range(11):
        await limiter.wait()
    assert time.monotonic() - started >= 10 / 50 - 0.01
