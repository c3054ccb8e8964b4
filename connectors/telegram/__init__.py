"""The Telegram channel, on python-telegram-bot (only this package imports it).

Two run modes share the same PTB handlers, one per kind of update (commands, text, locations, photos,
buttons, live-location edits): ``dalil telegram`` long-polls (:mod:`~connectors.telegram.polling`,
deleting any webhook first), and ``dalil serve`` accepts ``POST /webhooks/telegram``
(:mod:`~connectors.telegram.webhook`) when ``TELEGRAM_WEBHOOK_SECRET`` is set (registered with
``dalil telegram set-webhook URL``). ``TELEGRAM_API_BASE_URL`` points the bot at another Bot API
server (a self-hosted one, or the fake one in the tests).

Inbound: text and commands (``/start [deep-link]``, ``/help``, ``/lang``, ``/near``), locations, venues,
live locations (their edits update the stored location silently), photos (the ``file_id`` goes with a
report), our inline buttons; contacts, voice notes, stickers and the rest get a short polite answer. In
groups Dalil answers only when mentioned or replied to.

Outbound: a place card is an HTML message with an inline keyboard plus a venue (or location) pin; choice
lists are inline keyboards whose ``callback_data`` is a place id or a short server-side key, never raw
text; a location request is a reply keyboard with ``request_location``.

Durability: every update is stored in the inbox (:mod:`bot.inbox`) before the webhook answers 200, and
before long polling confirms it by advancing the offset (our own ``getUpdates`` loop); the database
being unavailable means a 503 (Telegram sends it again) or an offset that stays. Updates stored but not
answered (the process died, or stopped with a backlog) are answered on the next start. Each update is
handled once (the inbox, and ``update_id`` in Redis when ``DALIL_REDIS_URL`` is set).

Delivery (:mod:`connectors.telegram.delivery`): ``AIORateLimiter`` honours 429 ``retry_after``; a send
is retried only when Telegram cannot have it (no connection, 5xx, ``retry_after``), never after a read
timeout; each message has a reply id in the outbox, so a replay never sends it twice; a send that fails
is logged with the update id, kept in the undelivered queue, and the loop goes on. Stopping takes at
most a few seconds: turns under way finish, the backlog waits in the inbox.
"""

from __future__ import annotations

from connectors.telegram.channel import ALLOWED_UPDATES, CHANNEL, TelegramChannel
from connectors.telegram.render import callback_data
from connectors.telegram.setup import command, delete_webhook, register_commands, set_webhook

__all__ = [
    "ALLOWED_UPDATES",
    "CHANNEL",
    "TelegramChannel",
    "callback_data",
    "command",
    "delete_webhook",
    "register_commands",
    "set_webhook",
]
