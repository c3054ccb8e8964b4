"""``dalil chat``: talk to Dalil in the terminal, on the bundled data, with no accounts.

Buttons and list choices are shown as numbers: type the number to tap it. ``/location LAT LON`` shares
a location, ``/lang ar|en`` switches language, ``/quit`` leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from bot.app import App
from bot.types import (
    Choices,
    GeoPoint,
    HandoffNotice,
    Incoming,
    LocationPin,
    PlaceCard,
    QuickButtons,
    Reply,
    RequestLocation,
    TextReply,
)

__all__ = ["ConsoleChannel", "render"]

_LOCATION = re.compile(r"^/loc(?:ation)?\s+(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)\s*$")
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*$")


@dataclass
class _Style:
    colour: bool

    def __call__(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text


@dataclass
class _Screen:
    style: _Style
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
    screen = _Screen(_Style(colour))
    style = screen.style
    lines: list[str] = []
    for reply in replies:
        if isinstance(reply, TextReply | HandoffNotice):
            lines.append(reply.text)
        elif isinstance(reply, PlaceCard):
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


class ConsoleChannel:
    """A read-eval-print loop over the engine."""

    name = "console"

    def __init__(
        self,
        app: App,
        user_id: str = "console",
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        colour: bool | None = None,
    ) -> None:
        """Chat on ``stdin``/``stdout``; colour when writing to a terminal (and ``NO_COLOR`` is unset)."""
        self.app = app
        self.user_id = user_id
        self.stdin = stdin
        self.stdout = stdout
        self.colour = colour if colour is not None else stdout.isatty() and "NO_COLOR" not in os.environ
        self.actions: list[str] = []

    def _incoming(self, line: str) -> Incoming | None:
        match = _LOCATION.match(line)
        if match:
            point = GeoPoint(float(match.group(1)), float(match.group(2)))
            return Incoming("console", self.user_id, location=point)
        if line.startswith("/lang"):
            target = line.split()[-1] if len(line.split()) > 1 else ""
            return Incoming(
                "console", self.user_id, text="English please" if target == "en" else "كلمني عربي"
            )
        number = _NUMBER.match(line)
        if number and self.actions and 1 <= int(number.group(1)) <= len(self.actions):
            return Incoming("console", self.user_id, payload=self.actions[int(number.group(1)) - 1])
        if line.startswith("/start") or line == "/help":
            return Incoming("console", self.user_id, text="help")
        return Incoming("console", self.user_id, text=line)

    async def run(self, prompt: Callable[[], str] | None = None) -> None:
        """Chat until end of input or ``/quit``."""
        write = self.stdout.write
        greeting, self.actions = render(
            await self.app.engine.handle(Incoming("console", self.user_id, text="مرحبا")), self.colour
        )
        write(greeting + "\n")
        while True:
            if prompt is not None:
                write(prompt())
            self.stdout.flush()
            line = self.stdin.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit", "/q"):
                break
            incoming = self._incoming(line)
            if incoming is None:
                continue
            replies = await self.app.engine.handle(incoming)
            if not replies:  # e.g. paused while a person handles the conversation
                continue
            text, self.actions = render(replies, self.colour)
            write(text + "\n")

    def start(self) -> None:
        """Run the loop (blocking)."""
        style = _Style(self.colour)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C leaves like /quit, without a traceback
            asyncio.run(self.run(lambda: style("1;34", "أنت/you › ")))
        self.stdout.write("\n")
