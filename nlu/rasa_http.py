"""The ``rasa`` NLU engine: a Rasa 3 server's ``POST /model/parse`` over HTTP.

Rasa runs as its own Python 3.10 service (see docs/rasa.md); this adapter keeps Dalil's contract:
offsets into the user's text, our ``lang``, times read by our own parser (``nlu/times.py``, as for the
embedded engine), and a clear error when the server is down instead of a hang (timeouts on connect and
read).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from nlu.embedded import detect_lang
from nlu.times import read
from nlu.types import Entity, IntentScore, NluUnavailableError, Parse

__all__ = ["NluUnavailableError", "RasaHttpParser"]


class RasaHttpParser:
    """Parses by asking a Rasa server.

    :meth:`aparse` (async httpx) serves conversations on the event loop; :meth:`parse` blocks, for the
    command line and evaluation.
    """

    name = "rasa"

    def __init__(self, url: str, timeout_s: float = 2.0, client: httpx.Client | None = None) -> None:
        """Talk to the Rasa server at ``url`` (e.g. ``http://127.0.0.1:5005``)."""
        self.url = url.rstrip("/")
        self.timeout = httpx.Timeout(timeout_s, connect=min(1.0, timeout_s))
        self.client = client or httpx.Client(timeout=self.timeout)
        self._async: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None

    def parse(self, text: str) -> Parse:
        """Parse via Rasa (blocking).

        Raises:
            NluUnavailableError: the server is down, slow or answered something that is not a parse.
        """
        try:
            response = self.client.post(f"{self.url}/model/parse", json={"text": text})
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return self._read(text, response)

    async def aparse(self, text: str) -> Parse:
        """Parse via Rasa without blocking the event loop.

        Raises:
            NluUnavailableError: the server is down, slow or answered something that is not a parse.
        """
        try:
            response = await self._client().post(f"{self.url}/model/parse", json={"text": text})
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return self._read(text, response)

    def _client(self) -> httpx.AsyncClient:
        """The async client of the running loop (its pooled connections belong to that loop)."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            self._async = (loop, httpx.AsyncClient(timeout=self.timeout))
        return self._async[1]

    def _unreachable(self, exc: httpx.HTTPError) -> NluUnavailableError:
        return NluUnavailableError(f"Rasa server at {self.url} is not answering: {exc!r}")

    def _read(self, text: str, response: httpx.Response) -> Parse:
        """Rasa's parse as ours: offsets into ``text``, ``nlu_fallback`` as out of scope, our ``lang``."""
        try:
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            intent = body.get("intent") or {}
            ranking = tuple(
                IntentScore(str(r["name"]), float(r["confidence"])) for r in body.get("intent_ranking") or []
            )
            top = IntentScore(
                str(intent.get("name") or "out_of_scope"), float(intent.get("confidence") or 0.0)
            )
            if top.name == "nlu_fallback":
                top = IntentScore("out_of_scope", top.confidence)
            entities = tuple(
                Entity(
                    str(e["entity"]),
                    str(e.get("value", "")),
                    int(e["start"]),
                    int(e["end"]),
                    text[int(e["start"]) : int(e["end"])],
                    float(e.get("confidence_entity", e.get("confidence", 1.0)) or 1.0),
                    str(e.get("extractor", "rasa")),
                    read(text[int(e["start"]) : int(e["end"])]) if e["entity"] == "time" else None,
                )
                for e in body.get("entities") or []
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise NluUnavailableError(f"Rasa server at {self.url} sent an unexpected parse: {exc!r}") from exc
        lang = detect_lang(text) or "ar"
        return Parse(text, top, ranking or (top,), entities, lang)  # type: ignore[arg-type]
