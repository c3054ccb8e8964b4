"""Replies as plain terminal text: how ``dalil chat``, ``dalil ask`` and ``dalil kb preview`` show them.

Buttons and list choices become numbered options; the payload of each number is returned alongside, so
the console can turn a typed number back into a tap. Bidi marks are removed: a terminal lays text out
its own way (most show it left to right, cell by cell), and an isolate there is at best nothing and at
worst a stray glyph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.texts import strip_bidi
from bot.types import (
    Choices,
    HandoffNotice,
    InfoCard,
    LocationPin,
    PlaceCard,
    QuickButtons,
    Reply,
    RequestLocation,
    TextReply,
    map_text,
)

__all__ = ["Style", "render"]


@dataclass
class Style:
    """ANSI colour, or none."""

    colour: bool

    def __call__(self, code: str, text: str) -> str:
        """``text`` in the ANSI style ``code`` (e.g. ``"1;33"``), or as it is without colour."""
        return f"\033[{code}m{text}\033[0m" if self.colour else text


@dataclass
class _Screen:
    style: Style
    actions: list[str] = field(default_factory=list)
    """Payloads of the numbered options currently on screen."""

    def option(self, lines: list[str], title: str, payload: str | None, extra: str = "") -> None:
        if payload is None:
            lines.append(f"   {self.style('36', title)}{extra}")
            return
        self.actions.append(payload)
        lines.append(f"  {self.style('1;33', f'[{len(self.actions)}]')} {title}{extra}")


def render(replies: list[Reply], colour: bool = False) -> tuple[str, list[str]]:
    """The replies as terminal text, and the payloads of the numbered options in it."""
    screen = _Screen(Style(colour))
    style = screen.style
    lines: list[str] = []
    for reply in (map_text(r, strip_bidi) for r in replies):
        if isinstance(reply, TextReply | HandoffNotice):
            lines.append(reply.text)
        elif isinstance(reply, PlaceCard | InfoCard):
            lines.append(style("1", reply.title))
            lines += [f"  {line}" for line in reply.lines]
            for button in reply.buttons:
                target = button.phone or button.url
                if target and not button.payload and any(target in line for line in reply.lines):
                    continue  # the card already shows this link or number
                screen.option(lines, button.title, button.payload, f": {target}" if target else "")
        elif isinstance(reply, Choices):
            lines.append(reply.text)
            for choice in reply.options:
                screen.option(
                    lines,
                    choice.title,
                    choice.payload,
                    f" — {choice.description}" if choice.description else "",
                )
        elif isinstance(reply, QuickButtons):
            lines.append(reply.text)
            for button in reply.buttons:
                target = button.phone or button.url
                screen.option(lines, button.title, button.payload, f": {target}" if target else "")
        elif isinstance(reply, LocationPin):
            lines.append(style("32", f"📍 {reply.name} ({reply.lat:.5f}, {reply.lon:.5f})"))
        elif isinstance(reply, RequestLocation):
            lines.append(reply.text)
            lines.append(style("2", "   (/location LAT LON)"))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n", screen.actions
