"""Button payloads have one codec (bot/actions.py): made there, read there, nowhere else spelled out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot import actions

REPO = Path(__file__).parents[2]
PREFIXES = ("place:", "hours:", "wrong:", "service:", "say:")


@pytest.mark.parametrize(
    ("payload", "kind", "value"),
    [
        (actions.place("red-sea-mall"), "place", "red-sea-mall"),
        (actions.hours("red-sea-mall"), "hours", "red-sea-mall"),
        (actions.wrong("red-sea-mall"), "wrong", "red-sea-mall"),
        (actions.service("balady-permit"), "service", "balady-permit"),
        (actions.say("وش تقدر تسوي؟"), "say", "وش تقدر تسوي؟"),
        (actions.say("a: b"), "say", "a: b"),
    ],
)
def test_every_payload_reads_back_as_made(payload: str, kind: str, value: str) -> None:
    assert actions.decode(payload) == actions.Action(kind, value)  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", [None, "", "hello", "weather:today", "place"])
def test_anything_else_is_not_an_action(payload: str | None) -> None:
    assert actions.decode(payload) is None


def test_channels_recognise_payloads_with_the_codec_patterns() -> None:
    assert actions.ID_PAYLOAD.match(actions.place("osm-node-123"))
    assert not actions.ID_PAYLOAD.match(actions.say("free text"))
    sent_back = actions.TEXT_PAYLOAD.match("/" + actions.hours("al-balad"))
    assert sent_back is not None
    assert sent_back.group(1) == "hours:al-balad"
    assert actions.TEXT_PAYLOAD.match("where is al balad") is None


def test_no_module_spells_a_payload_out_itself() -> None:
    spelled = []
    for package in ("bot", "connectors"):
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name == "actions.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                first = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
                if isinstance(first, ast.Constant) and str(first.value).startswith(PREFIXES):
                    spelled.append(f"{path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}: {first.value!r}")
    assert spelled == []
