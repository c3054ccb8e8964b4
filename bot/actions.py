"""Button payloads: the one codec for what a tapped button or chosen row means.

A payload is ``<kind>:<value>``: ``place:<id>`` (show the place), ``hours:<id>`` (its week of hours),
``wrong:<id>`` (report wrong information about it), ``service:<id>`` (a municipal service card) and
``say:<text>`` (as if the person had typed ``text``). Handlers make them with the functions below; the
engine reads them with :func:`decode`; channels carry them opaquely, and use :data:`ID_PAYLOAD` /
:data:`TEXT_PAYLOAD` only to recognise one (a Telegram ``callback_data`` that can travel as it is, a
REST widget sending a button's payload back as the message text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, cast

__all__ = [
    "ID_PAYLOAD",
    "TEXT_PAYLOAD",
    "Action",
    "decode",
    "hours",
    "place",
    "say",
    "service",
    "wrong",
]

Kind = Literal["place", "hours", "wrong", "service", "say"]
_KINDS: Final = ("place", "hours", "wrong", "service", "say")

ID_PAYLOAD: Final = re.compile(r"^(?:place|hours|wrong|service):[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A payload made of one of our ids only (safe to send through a channel as it is)."""
TEXT_PAYLOAD: Final = re.compile(r"^/?((?:place|hours|wrong|service|say):\S.*)$")
"""A payload sent back as message text (optionally after a slash); group 1 is the payload."""


@dataclass(frozen=True)
class Action:
    """What a payload asks for."""

    kind: Kind
    value: str


def _encode(kind: Kind, value: str) -> str:
    return f"{kind}:{value}"


def place(place_id: str) -> str:
    """Show the place ``place_id`` (its card, or what the open question asked about it)."""
    return _encode("place", place_id)


def hours(place_id: str) -> str:
    """The week of opening hours of ``place_id``."""
    return _encode("hours", place_id)


def wrong(place_id: str) -> str:
    """Report that something about ``place_id`` is wrong."""
    return _encode("wrong", place_id)


def service(service_id: str) -> str:
    """The card of the municipal service ``service_id``."""
    return _encode("service", service_id)


def say(text: str) -> str:
    """As if the person had typed ``text``."""
    return _encode("say", text)


def decode(payload: str | None) -> Action | None:
    """The action of ``payload``; ``None`` for anything that is not one of ours."""
    if not payload:
        return None
    kind, separator, value = payload.partition(":")
    if not separator or kind not in _KINDS:
        return None
    return Action(cast(Kind, kind), value)
