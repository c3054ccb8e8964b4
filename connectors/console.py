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
from typing import TextIO

from bot.app import App
from bot.plain import Style, render
from bot.types import Command, GeoPoint, Incoming

__all__ = ["ConsoleChannel", "render"]

_LOCATION = re.compile(r"^/loc(?:ation)?\s+(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)\s*$")
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*$")


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
            return Incoming("console", self.user_id, command=Command("lang", target))
        number = _NUMBER.match(line)
        if number and self.actions and 1 <= int(number.group(1)) <= len(self.actions):
            return Incoming("console", self.user_id, payload=self.actions[int(number.group(1)) - 1])
        if line.startswith("/start") or line == "/help":
            return Incoming("console", self.user_id, command=Command("help"))
        return Incoming("console", self.user_id, text=line)

    async def run(self, prompt: Callable[[], str] | None = None) -> None:
        """Chat until end of input or ``/quit``."""
        write = self.stdout.write
        greeting, self.actions = render(
            await self.app.handle(Incoming("console", self.user_id, command=Command("start"))), self.colour
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
            replies = await self.app.handle(incoming)
            if not replies:  # e.g. paused while a person handles the conversation
                continue
            text, self.actions = render(replies, self.colour)
            write(text + "\n")

    def start(self) -> None:
        """Run the loop (blocking)."""
        style = Style(self.colour)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C leaves like /quit, without a traceback
            asyncio.run(self.run(lambda: style("1;34", "أنت/you › ")))
        self.stdout.write("\n")
