"""What flows through the dialogue: ``Incoming`` messages in, channel-neutral ``Reply`` objects out.

Channels render replies natively (a Telegram venue and inline keyboard, a WhatsApp interactive list);
everything here is plain data, serialisable with :func:`reply_to_dict` for ``dalil ask --json`` and the
REST channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "MAX_CHOICES",
    "MAX_QUICK_BUTTONS",
    "Button",
    "Choice",
    "Choices",
    "GeoPoint",
    "HandoffNotice",
    "Incoming",
    "InfoCard",
    "LocationPin",
    "PlaceCard",
    "QuickButtons",
    "Reply",
    "RequestLocation",
    "TextReply",
    "map_text",
    "reply_to_dict",
]

MAX_CHOICES = 10
MAX_QUICK_BUTTONS = 3


@dataclass(frozen=True)
class GeoPoint:
    """A point on the map."""

    lat: float
    lon: float


@dataclass(frozen=True)
class Command:
    """A channel command, typed: ``/start``, ``/help``, ``/lang [ar|en]``, ``/near [kind]``."""

    name: Literal["start", "help", "lang", "near"]
    argument: str = ""
    """``lang``: the language asked for (empty: the other one); ``near``: the kind of place, as typed."""


@dataclass(frozen=True)
class Incoming:
    """One message from a person, whatever the channel."""

    channel: str
    user_id: str
    text: str = ""
    location: GeoPoint | None = None
    payload: str | None = None
    """A button or list choice we sent earlier (its payload), instead of or besides text."""
    message_id: str | None = None
    timestamp: datetime | None = None
    lang_hint: str | None = None
    """The client's interface language, if the channel tells (e.g. Telegram's language_code)."""
    attachment: str | None = None
    """A reference to a photo the person sent (e.g. a Telegram file_id), for reports."""
    command: Command | None = None
    """A channel command (the channel's menu), instead of text."""


@dataclass(frozen=True)
class Button:
    """A tappable button: sends ``payload`` back, or opens ``url``, or calls ``phone``."""

    title: str
    payload: str | None = None
    url: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Choice:
    """One row of a list to choose from."""

    title: str
    payload: str
    description: str | None = None


@dataclass(frozen=True)
class TextReply:
    """Plain text."""

    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True)
class PlaceCard:
    """A place: title, fact lines, buttons and (when known) its pin."""

    place_id: str
    title: str
    lines: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    location: GeoPoint | None = None
    address: str | None = None
    kind: Literal["place_card"] = "place_card"

    @property
    def text(self) -> str:
        """The card as plain text (channels without rich cards)."""
        return _card_text(self.title, self.lines)


@dataclass(frozen=True)
class InfoCard:
    """A titled answer about something that is not a place (a municipal service): heading, lines, links.

    The title is structure, not markup: each channel shows it in its own way (Telegram ``<b>``, WhatsApp
    ``*…*``, a bold terminal line), so no response text or data file ever spells out formatting.
    """

    title: str
    lines: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    kind: Literal["info_card"] = "info_card"

    @property
    def text(self) -> str:
        """The card as plain text (channels without rich cards)."""
        return _card_text(self.title, self.lines)


def _card_text(title: str, lines: tuple[str, ...]) -> str:
    return "\n".join((title, *lines))


@dataclass(frozen=True)
class Choices:
    """A short list (≤ 10) to pick from."""

    text: str
    options: tuple[Choice, ...]
    button: str = ""
    """The label of the button that opens the list (WhatsApp)."""
    kind: Literal["choices"] = "choices"

    def __post_init__(self) -> None:
        if not 1 <= len(self.options) <= MAX_CHOICES:
            raise ValueError(f"a choice list has 1–{MAX_CHOICES} options, not {len(self.options)}")


@dataclass(frozen=True)
class QuickButtons:
    """Text with up to three quick-reply buttons."""

    text: str
    buttons: tuple[Button, ...]
    kind: Literal["buttons"] = "buttons"

    def __post_init__(self) -> None:
        if not 1 <= len(self.buttons) <= MAX_QUICK_BUTTONS:
            raise ValueError(f"quick buttons are 1–{MAX_QUICK_BUTTONS}, not {len(self.buttons)}")


@dataclass(frozen=True)
class LocationPin:
    """A map pin."""

    lat: float
    lon: float
    name: str
    address: str | None = None
    kind: Literal["location"] = "location"


@dataclass(frozen=True)
class RequestLocation:
    """Ask the person to share their location (a native button where the channel has one)."""

    text: str
    button: str = ""
    kind: Literal["request_location"] = "request_location"


@dataclass(frozen=True)
class HandoffNotice:
    """A person from the team will take over; automatic answers pause."""

    text: str
    reference: str = ""
    kind: Literal["handoff"] = "handoff"


Reply = (
    TextReply | PlaceCard | InfoCard | Choices | QuickButtons | LocationPin | RequestLocation | HandoffNotice
)


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A reply as plain JSON-ready data (``kind`` says which)."""
    data = asdict(reply)
    if isinstance(reply, PlaceCard | InfoCard):
        data["text"] = reply.text
    return {k: v for k, v in data.items() if v not in (None, (), [])}


def map_text(reply: Reply, change: Callable[[str], str]) -> Reply:
    """``reply`` with ``change`` applied to every text a person reads in it.

    Payloads, URLs, phone numbers, ids and coordinates are left as they are: they are targets, not text.
    """

    def button(b: Button) -> Button:
        return replace(b, title=change(b.title))

    if isinstance(reply, PlaceCard):
        return replace(
            reply,
            title=change(reply.title),
            lines=tuple(map(change, reply.lines)),
            buttons=tuple(map(button, reply.buttons)),
            address=None if reply.address is None else change(reply.address),
        )
    if isinstance(reply, InfoCard):
        lines = tuple(map(change, reply.lines))
        return replace(
            reply, title=change(reply.title), lines=lines, buttons=tuple(map(button, reply.buttons))
        )
    if isinstance(reply, Choices):
        options = tuple(
            replace(o, title=change(o.title), description=o.description and change(o.description))
            for o in reply.options
        )
        return replace(reply, text=change(reply.text), options=options, button=change(reply.button))
    if isinstance(reply, QuickButtons):
        return replace(reply, text=change(reply.text), buttons=tuple(map(button, reply.buttons)))
    if isinstance(reply, LocationPin):
        address = None if reply.address is None else change(reply.address)
        return replace(reply, name=change(reply.name), address=address)
    if isinstance(reply, RequestLocation):
        return replace(reply, text=change(reply.text), button=change(reply.button))
    return replace(reply, text=change(reply.text))
