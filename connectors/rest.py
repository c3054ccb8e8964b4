"""The Rasa REST channel: ``POST /webhooks/rest/webhook`` with Rasa's request and response shapes.

So existing Rasa web chat widgets talk to Dalil unchanged.

Request: ``{"sender": "id", "message": "text", "metadata": {"location": {"lat": .., "lon": ..}}}``.
Response: ``[{"recipient_id": "id", "text": "...", "buttons": [{"title": "...", "payload": "..."}]}, …]``;
what REST has no native form for (a place card or other titled card, a pin, a location request) also
rides in ``custom``. A widget sends a button's payload back as the message text, which is recognised here.
Texts carry no bidi marks: widgets lay text out with ``dir="auto"``, and a U+2068 in JSON surprises the
people who read or store it (docs/architecture.md, "Markup and right-to-left text").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot import actions
from bot.app import App
from bot.texts import strip_bidi
from bot.types import (
    Button,
    Choices,
    GeoPoint,
    HandoffNotice,
    Incoming,
    InfoCard,
    LocationPin,
    PlaceCard,
    QuickButtons,
    Reply,
    RequestLocation,
    TextReply,
    map_text,
)

__all__ = ["RestChannel", "RestMessage", "render_rest"]


class _Point(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    location: _Point | None = None
    language: str | None = None


class RestMessage(BaseModel):
    """A message from a REST client (Rasa's REST channel shape)."""

    model_config = ConfigDict(extra="allow")
    sender: str = Field(default="default", min_length=1, max_length=256)
    message: str = Field(default="", max_length=100_000)
    metadata: _Metadata | None = None

    @field_validator("sender")
    @classmethod
    def _no_nul_in_sender(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("message")
    @classmethod
    def _drop_nul(cls, value: str) -> str:
        # NUL means nothing in a chat message, and PostgreSQL text columns (reports, the unanswered
        # log) refuse it.
        return value.replace("\x00", "")


def _button(button: Button) -> dict[str, str]:
    if button.payload is not None:
        return {"title": button.title, "payload": button.payload}
    if button.phone is not None:
        return {"title": button.title, "url": f"tel:{button.phone}"}
    return {"title": button.title, "url": button.url or ""}


def render_rest(replies: list[Reply], recipient: str) -> list[dict[str, Any]]:
    """Replies as Rasa REST channel messages."""
    out: list[dict[str, Any]] = []
    for reply in (map_text(r, strip_bidi) for r in replies):
        message: dict[str, Any] = {"recipient_id": recipient}
        if isinstance(reply, TextReply):
            message["text"] = reply.text
        elif isinstance(reply, PlaceCard):
            message["text"] = reply.text
            message["buttons"] = [_button(b) for b in reply.buttons]
            custom: dict[str, Any] = {"type": "place_card", "place_id": reply.place_id, "title": reply.title}
            if reply.location:
                custom["location"] = {"lat": reply.location.lat, "lon": reply.location.lon}
            message["custom"] = custom
        elif isinstance(reply, InfoCard):
            message["text"] = reply.text
            if reply.buttons:
                message["buttons"] = [_button(b) for b in reply.buttons]
            message["custom"] = {"type": "card", "title": reply.title}
        elif isinstance(reply, Choices):
            message["text"] = reply.text
            message["buttons"] = [
                {
                    "title": c.title,
                    "payload": c.payload,
                    **({"description": c.description} if c.description else {}),
                }
                for c in reply.options
            ]
        elif isinstance(reply, QuickButtons):
            message["text"] = reply.text
            message["buttons"] = [_button(b) for b in reply.buttons]
        elif isinstance(reply, LocationPin):
            message["text"] = f"📍 {reply.name}"
            message["custom"] = {
                "type": "location",
                "lat": reply.lat,
                "lon": reply.lon,
                "name": reply.name,
                "address": reply.address,
            }
        elif isinstance(reply, RequestLocation):
            message["text"] = reply.text
            message["custom"] = {"type": "request_location", "button": reply.button}
        elif isinstance(reply, HandoffNotice):
            message["text"] = reply.text
            message["custom"] = {"type": "handoff", "reference": reply.reference}
        out.append(message)
    return out


def to_incoming(body: RestMessage) -> Incoming:
    """A REST message as an :class:`Incoming` (a button payload sent back as text is a payload)."""
    text = body.message.strip()
    payload = None
    match = actions.TEXT_PAYLOAD.match(text)
    if match:
        payload, text = match.group(1), ""
    location = None
    if body.metadata is not None and body.metadata.location is not None:
        location = GeoPoint(body.metadata.location.lat, body.metadata.location.lon)
    hint = body.metadata.language if body.metadata else None
    return Incoming("rest", body.sender, text=text, location=location, payload=payload, lang_hint=hint)


class RestChannel:
    """Serves the REST webhook."""

    name = "rest"

    def __init__(self, app: App) -> None:
        """Answer through ``app``'s engine."""
        self.app = app

    def router(self) -> APIRouter:
        """The webhook route."""
        router = APIRouter(tags=["channels"])

        @router.post(
            "/webhooks/rest/webhook",
            summary="Rasa REST channel",
            response_model=list[dict[str, Any]],
            response_class=JSONResponse,
        )
        async def webhook(body: RestMessage) -> Response:
            replies = await self.app.handle(to_incoming(body))
            # Serialised here, not through FastAPI's response model: the replies are plain JSON data
            # already, and validating them again would only cost time on every turn.
            return JSONResponse(render_rest(replies, body.sender))

        return router
