"""A small fake WhatsApp Cloud API (Meta Graph API) server, and a driver for inbound webhooks.

The server (:mod:`.server`) is an ASGI app speaking the real wire format of
``POST /<version>/<phone-number-id>/messages``: ``Authorization: Bearer <token>``, a JSON body, and
either ``{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}`` (or
``{"success": true}`` for a read receipt) or Graph's error object (:mod:`.wire`)::

    {"error": {"message": "(#131009) Parameter value is not valid", "type": "OAuthException",
               "code": 131009, "error_data": {"messaging_product": "whatsapp", "details": "..."},
               "fbtrace_id": "..."}}

It validates sends the way Meta does (:mod:`.checks`: text, location, template and interactive
``button`` / ``list`` / ``location_request_message`` / ``cta_url`` messages with Meta's length and count
limits), answering 400 with code 100 for a missing parameter and 131009 for a value that is present but
invalid. It records every request, fails chosen sends on demand (24-hour window 131047, throughput
130429, pair rate limit 131056, transient 5xx) and can be made slow with ``delay_s``. Run it with
:func:`serve` on a free local port; the URL it yields already ends in the API version, like
``https://graph.facebook.com/v25.0``; :func:`whatsapp_env` points ``dalil serve`` at it.

:class:`Webhooks` (:mod:`.webhooks`) builds the payloads Meta POSTs to the bot's webhook (messages from
a user, delivery statuses, several batched into one POST), including business-scoped user ids
(``user_id`` / ``from_user_id``) and username users who have no phone number (``bsuid_only=True``).
:func:`signed` serialises a payload as Meta does (ASCII-only, ``\\uXXXX`` escapes, ``\\/``) and signs the
exact bytes with the app secret for ``X-Hub-Signature-256``; a receiver that re-serialises the JSON before
checking the signature will fail.
"""

from tests.connectors.fake_whatsapp.server import Call, FakeGraph, serve
from tests.connectors.fake_whatsapp.webhooks import Overrides, Webhooks, encode, sign, signed, verification
from tests.connectors.fake_whatsapp.wire import (
    APP_SECRET,
    BUSINESS_NUMBER,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    VERSION,
    WABA_ID,
    wamid,
    whatsapp_env,
)

__all__ = [
    "APP_SECRET",
    "BUSINESS_NUMBER",
    "PHONE_NUMBER_ID",
    "TOKEN",
    "VERIFY_TOKEN",
    "VERSION",
    "WABA_ID",
    "Call",
    "FakeGraph",
    "Overrides",
    "Webhooks",
    "encode",
    "serve",
    "sign",
    "signed",
    "verification",
    "wamid",
    "whatsapp_env",
]
