"""No channel markup in what Dalil says: texts and data carry words, Reply types carry structure.

Telegram reads HTML, WhatsApp reads ``*bold*`` and ``_italic_``, the REST JSON and the terminal read
neither, so a ``*بلاغات 940*`` in a response or a data file shows its asterisks somewhere (issue #17).
Each renderer applies its own markup to a card's title; these checks keep markup out of everything else.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).parents[2]
SAID = [
    REPO / "data" / "responses" / "ar.yml",
    REPO / "data" / "responses" / "en.yml",
    REPO / "data" / "dialogue" / "words.yml",
    REPO / "data" / "services.yml",
    REPO / "data" / "categories.yml",
    REPO / "data" / "districts.yml",
    *sorted((REPO / "data" / "places").glob("*.yml")),
]
_LINK = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+|[^\s@]+@[^\s@]+\.\w+", re.IGNORECASE)
# A marker used as markup stands at a word's edge and pairs: "*bold*", "_italic_", "~strike~", and
# Telegram/HTML tags and backticks anywhere. "snake_case" or a lone "*" is not markup.
MARKUP = re.compile(
    r"(?<![^\W_])([*_~])(?=[^\s*_~])[^\n]*?(?<=[^\s*_~])\1(?![^\W_])"
    r"|\*\*|__|`|</?(?:b|i|u|s|a|code|pre|strong|em|br|span|tg-[a-z]+)\b[^<>]*>",
    re.IGNORECASE,
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def markup_in(text: str) -> list[str]:
    """The markup used in ``text`` (links and e-mail addresses left out: their ``_`` are not markup)."""
    return [m.group() for m in MARKUP.finditer(_LINK.sub(" ", text))]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("*بلاغات 940*", ["*بلاغات 940*"]),
        ("اضغط _هنا_ الآن", ["_هنا_"]),
        ("~old~ new", ["~old~"]),
        ("<b>Red Sea Mall</b>", ["<b>", "</b>"]),
        ("run `dalil chat`", ["`", "`"]),
        ("**bold**", ["**", "**"]),
        ("snake_case and a*b*c and 5 * 3 = 15", []),
        ("https://example.com/a_b_c_ and x_y@mail.example.com", []),
        ("a < b > c", []),
    ],
)
def test_the_check_tells_markup_from_plain_signs(text: str, found: list[str]) -> None:
    assert markup_in(text) == found


@pytest.mark.parametrize("path", SAID, ids=lambda p: str(p.relative_to(REPO)))
def test_response_texts_and_data_use_no_markup(path: Path) -> None:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    used = [(text[:60], markup_in(text)) for text in _strings(data) if markup_in(text)]
    assert used == []


DIALOGUE = [
    *sorted((REPO / "bot" / "handlers").glob("*.py")),
    *(
        REPO / "bot" / name
        for name in ("cards.py", "decide.py", "engine.py", "texts.py", "turn.py", "when.py")
    ),
]
"""The modules that build replies (the CLI's own terminal messages may quote commands in backticks)."""


def _formatting_fstrings(path: Path) -> Iterator[int]:
    """Lines of f-strings that wrap a value in a markup marker or spell a tag (``f"*{name}*"``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.JoinedStr):
            continue
        texts = [part.value if isinstance(part, ast.Constant) else None for part in node.values]
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                continue
            opens = re.search(r"(?:^|\W)([*_~`])$", text)
            closing = texts[index + 2] if index + 2 < len(texts) else None
            wraps = opens is not None and isinstance(closing, str) and closing.startswith(opens.group(1))
            if wraps or markup_in(text):
                yield node.lineno
                break


def test_the_code_check_sees_a_wrapped_value(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('a = f"*{name}*"\nb = f"<b>{name}</b>"\nc = f"kb_{build}_"\nd = f"{x}~{y}"\n')
    assert list(_formatting_fstrings(sample)) == [1, 2]


def test_no_code_that_builds_replies_formats_text() -> None:
    """Only renderers (``connectors/``) apply markup; the dialogue builds structure (``InfoCard.title``)."""
    found = [f"{path.relative_to(REPO)}:{line}" for path in DIALOGUE for line in _formatting_fstrings(path)]
    assert found == []
