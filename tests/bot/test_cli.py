"""The ``dalil`` command line: every command the docs show parses to a handler, and help lists them all."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser

REPO = Path(__file__).parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_SHELL = re.compile(r"^\s*(?:uv run )?(dalil [a-z][^#\n]*)", re.MULTILINE)
"""A command line the docs tell you to type: it must parse, as written."""
_NAMED = re.compile(r"`(dalil [a-z][\w -]*)")
"""A command named in prose (```dalil kb preview```): each word must be a command."""


def _shell_lines() -> list[str]:
    found: set[str] = set()
    for path in DOCS:
        for match in _SHELL.finditer(path.read_text(encoding="utf-8")):
            # "[--json]" shows an optional flag, "[--out FILE]" one with a value: try them given.
            found.add(re.sub(r"\[(--?[\w-]+(?: [^\]]*)?)\]", r"\1", match.group(1)).strip())
    return sorted(found)


def _named() -> list[str]:
    return sorted({m.group(1).strip() for path in DOCS for m in _NAMED.finditer(path.read_text("utf-8"))})


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_the_docs_show_commands() -> None:
    assert 'dalil ask "متى يسكر رد سي مول" --json' in _shell_lines()
    assert "dalil kb preview practice-cafe --at 2026-12-03T20:00" in _shell_lines()
    assert "dalil telegram set-webhook" in [" ".join(named.split()[:3]) for named in _named()]


@pytest.mark.parametrize("line", _shell_lines())
def test_every_documented_command_line_parses_to_a_handler(line: str) -> None:
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert callable(args.run)


@pytest.mark.parametrize("named", _named())
def test_every_command_named_in_the_docs_exists(named: str) -> None:
    parser = build_parser()
    words = named.split()[1:]
    for word in words:
        choices = _subcommands(parser)
        if not choices or word.startswith("-"):
            break  # an argument of the command, not a sub-command
        assert word in choices, f"{named}: no command {word!r}"
        parser = choices[word]


def test_help_lists_every_group() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    listed = re.findall(r"^    ([a-z]+)\s", shown, re.MULTILINE)
    assert listed == [
        "kb", "nlu", "chat", "ask", "serve", "handoff", "feedback", "reports", "unanswered",
        "undelivered", "telegram", "whatsapp", "parse",
    ]  # fmt: skip
