"""The console chat (``dalil chat``): numbered choices, ``/location``, buttons by number, clean exits.

The loop is driven through real text streams in-process, and once as the installed ``dalil chat``
command with piped stdin/stdout.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import types  # every kind of reply is rendered below
from bot.app import App, build_app
from bot.settings import Settings
from bot.state import MemoryStateStore
from connectors.console import ConsoleChannel, render
from tests.bot.conftest import NOW, REPO

PROMPT = "you› "


@pytest.fixture
def console_app(sqlite_settings: Settings) -> Iterator[App]:
    app = build_app(sqlite_settings, states=MemoryStateStore())
    yield app
    app.knowledge.engine.dispose()


async def talk(app: App, *lines: str, colour: bool = False) -> list[str]:
    """Type ``lines`` into a fresh console; returns what it printed after each prompt (index 0: greeting)."""
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    stdout = io.StringIO()
    await ConsoleChannel(app, user_id="console-test", stdin=stdin, stdout=stdout, colour=colour).run(
        lambda: PROMPT
    )
    return stdout.getvalue().split(PROMPT)


# --- the loop ---------------------------------------------------------------------------------------


async def test_greets_with_numbered_examples_and_ends_on_eof(console_app: App) -> None:
    screens = await talk(console_app)
    greeting = screens[0]
    assert "دليل" in greeting
    assert "[1] أقرب مستشفى" in greeting
    assert "[3]" in greeting
    assert "\033[" not in greeting  # no colour codes when not asked for
    assert screens[-1] == ""  # the last prompt met end of input, and the loop returned


async def test_a_number_taps_the_button(console_app: App) -> None:
    screens = await talk(console_app, "1")
    # [1] is "أقرب مستشفى" (nearest hospital): Dalil asks for the location and says how to share it.
    assert "مستشفى" in screens[1]
    assert "/location LAT LON" in screens[1]


async def test_location_answers_the_pending_nearest_question(console_app: App) -> None:
    screens = await talk(console_app, "nearest mall", "/location 21.6268 39.1100", "1")
    assert "/location LAT LON" in screens[1]
    results = screens[2]
    assert "[1] Red Sea Mall" in results
    assert " km" in results
    assert results.index("[1]") < results.index("[2]")
    card = screens[3]
    assert card.startswith("Red Sea Mall")
    assert "📍 Red Sea Mall (21.62679, 39.10996)" in card


@pytest.mark.parametrize("line", ["/location 21.6268, 39.1100", "/loc 21.6268 39.11"])
async def test_location_command_forms(console_app: App, line: str) -> None:
    screens = await talk(console_app, "nearest mall", line)
    assert "Red Sea Mall" in screens[2]


async def test_list_choices_by_number(console_app: App) -> None:
    screens = await talk(console_app, "وين المولات", "4")
    assert "[4] رد سي مول" in screens[1]
    assert screens[2].startswith("رد سي مول")


async def test_a_number_with_nothing_on_screen_is_just_text(console_app: App) -> None:
    screens = await talk(console_app, "nearest mall", "/location 21.6268 39.1100", "1", "9")
    # The card has one numbered button ("This is wrong"); 9 is no option, so it goes to the NLU as text.
    assert "[2]" not in screens[3]
    assert len(screens) == 6
    assert screens[4].strip()


async def test_lang_switch_and_blank_lines(console_app: App) -> None:
    screens = await talk(console_app, "/lang en", "", "   ", "where is king fahd fountain")
    assert "English" in screens[1]
    # Blank lines are skipped without an answer: the next prompt follows at once.
    assert screens[2] == ""
    assert screens[3] == ""
    # "where is <named place>" is directions (DESIGN.md's intent boundaries): the place on the map
    assert "King Fahd's Fountain" in screens[4]
    assert "google.com/maps" in screens[4]


@pytest.mark.parametrize("command", ["/quit", "/exit", "/q"])
async def test_quit_stops_reading(console_app: App, command: str) -> None:
    stdin = io.StringIO(f"{command}\nمرحبا\n")
    stdout = io.StringIO()
    await ConsoleChannel(console_app, user_id="quit", stdin=stdin, stdout=stdout).run()
    assert stdin.readline() == "مرحبا\n"  # nothing after /quit was read
    assert stdout.getvalue().count("دليل") == 1  # only the greeting was printed


async def test_colour_when_asked(console_app: App) -> None:
    screens = await talk(console_app, colour=True)
    assert "\033[1;33m[1]\033[0m" in screens[0]


# --- rendering --------------------------------------------------------------------------------------

_CARD = types.PlaceCard(
    "red-sea-mall",
    "Red Sea Mall",
    ("Open now · closes at 23:00",),
    (
        types.Button("Call", phone="+966 12 000 0000"),
        types.Button("Website", url="https://example.org"),
        types.Button("Opening hours", payload="hours:red-sea-mall"),
    ),
)


@pytest.mark.parametrize(
    ("replies", "text", "actions"),
    [
        ([types.TextReply("hello")], "hello\n", []),
        (
            [_CARD],
            "Red Sea Mall\n  Open now · closes at 23:00\n   Call: +966 12 000 0000\n"
            "   Website: https://example.org\n  [1] Opening hours\n",
            ["hours:red-sea-mall"],
        ),
        (
            [
                types.Choices(
                    "Pick one:", (types.Choice("A", "place:a", "1 km"), types.Choice("B", "place:b"))
                )
            ],
            "Pick one:\n  [1] A — 1 km\n  [2] B\n",
            ["place:a", "place:b"],
        ),
        (
            [types.QuickButtons("Try:", (types.Button("x", payload="say:x"),)), types.TextReply("and")],
            "Try:\n  [1] x\n\nand\n",
            ["say:x"],
        ),
        ([types.LocationPin(21.5, 39.17, "Al-Balad")], "📍 Al-Balad (21.50000, 39.17000)\n", []),
        ([types.RequestLocation("Share your location")], "Share your location\n   (/location LAT LON)\n", []),
        ([types.HandoffNotice("A person will answer", "H-ABC234")], "A person will answer\n", []),
        ([], "\n", []),
    ],
)
def test_render(replies: list[types.Reply], text: str, actions: list[str]) -> None:
    assert render(replies) == (text, actions)


def test_numbers_continue_across_replies() -> None:
    _, actions = render(
        [
            types.QuickButtons("a", (types.Button("1", payload="say:1"),)),
            types.QuickButtons("b", (types.Button("2", payload="say:2"),)),
        ]
    )
    assert actions == ["say:1", "say:2"]


# --- the installed command --------------------------------------------------------------------------


@pytest.mark.slow
def test_dalil_chat_command(sqlite_settings: Settings, console_app: App) -> None:
    dalil = Path(sys.executable).with_name("dalil")
    if not dalil.exists():
        pytest.skip("the dalil command is not installed in this environment")
    env = {
        **os.environ,
        "DALIL_DATABASE_URL": sqlite_settings.database_url,
        "DALIL_MODEL_DIR": str(sqlite_settings.model_dir),
        "DALIL_DATA_DIR": str(sqlite_settings.data_dir),
        "DALIL_NOW": NOW,
        "NO_COLOR": "1",
    }
    env.pop("DALIL_REDIS_URL", None)
    done = subprocess.run(  # noqa: S603 - our own installed command
        [str(dalil), "--config", str(REPO / "config.yml"), "chat"],
        input="وين المولات\n4\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[1] أقرب مستشفى" in done.stdout
    assert "[4] رد سي مول" in done.stdout
    assert "\033[" not in done.stdout  # piped output has no colour
    assert done.stdout.rstrip().endswith("›")  # the last prompt met end of input
    assert "Traceback" not in done.stderr
