"""Response texts from ``data/responses/{ar,en}.yml``, filled and made safe for right-to-left display.

In Arabic text, Latin names, numbers and phone numbers filled into a sentence are wrapped in Unicode
first-strong isolates (U+2068 … U+2069) so a "+966 12 …" or "Red Sea Mall" never reorders the sentence
around it; URLs never are. The isolates are an in-band mark that each channel's renderer keeps or removes
(:func:`strip_bidi`): chat apps that lay text out with the Unicode bidi algorithm keep them, the terminal
and the REST JSON drop them (docs/architecture.md, "Markup and right-to-left text"). Arabic-Indic
digits are used only for people who write them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import regex
from ruamel.yaml import YAML

__all__ = [
    "BIDI_CONTROLS",
    "FSI",
    "LANGS",
    "PDI",
    "Texts",
    "eastern_digits",
    "isolate",
    "split_message",
    "strip_bidi",
]

FSI = "\u2068"
PDI = "\u2069"
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Every Unicode ``Bidi_Control`` character: ALM, LRM, RLM, the embeddings and overrides, the isolates."""
_NO_BIDI = str.maketrans(dict.fromkeys(BIDI_CONTROLS))
_EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_NEEDS_ISOLATION = re.compile(r"[A-Za-z0-9+@/]")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://|www\.", re.IGNORECASE)
LANGS = ("ar", "en")
_GRAPHEME = regex.compile(r"\X")


def isolate(value: str) -> str:
    """Wrap ``value`` in a first-strong isolate when it holds Latin letters, digits or phone signs.

    A URL is never wrapped (nor is text holding one): the marks would become part of the link when it is
    copied or tapped, and a URL alone on its line displays correctly anyway.
    """
    if not value or not _NEEDS_ISOLATION.search(value) or value.startswith(FSI) or _URL.search(value):
        return value
    return f"{FSI}{value}{PDI}"


def strip_bidi(text: str) -> str:
    """``text`` without bidi control characters, for channels that do not want them (console, REST).

    The isolates wrap a value without adding spaces, so removing them leaves the sentence as written.
    """
    return text.translate(_NO_BIDI)


def eastern_digits(text: str) -> str:
    """Western digits → Arabic-Indic, except inside URLs and phone numbers (they must stay dialable)."""
    parts = re.split(r"(https?://\S+|\+\d[\d ]+)", text)
    return "".join(p if i % 2 else p.translate(_EASTERN) for i, p in enumerate(parts))


def split_message(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line breaks, else between words.

    A word longer than ``limit`` is cut between graphemes (user-perceived characters), never between an
    Arabic letter and its diacritics or inside an emoji sequence. Never empty: chat APIs refuse a blank
    message, so nothing to say is "…".
    """
    text = text.strip() or "…"
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)  # no line break: at least not inside a word
        cut = cut if cut > 0 else _grapheme_floor(text, limit)
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    return [*chunks, text]


def _grapheme_floor(text: str, index: int) -> int:
    """The last grapheme boundary at or before ``index`` (``index`` itself if one grapheme is longer)."""
    boundary = 0
    for grapheme in _GRAPHEME.finditer(text):
        if grapheme.end() > index:
            break
        boundary = grapheme.end()
    return boundary or index


class Texts:
    """All response texts, by language and key."""

    def __init__(self, texts: Mapping[str, Mapping[str, Any]]) -> None:
        """Use ``texts[lang][key]``; every language must define the same keys."""
        self._texts = texts
        missing = set(texts["ar"]) ^ set(texts["en"])
        if missing:
            raise ValueError(f"response keys defined in one language only: {', '.join(sorted(missing))}")

    @classmethod
    def load(cls, directory: Path) -> Texts:
        """Read ``ar.yml`` and ``en.yml`` from ``directory``."""
        yaml = YAML(typ="safe")
        return cls(
            {lang: yaml.load((directory / f"{lang}.yml").read_text(encoding="utf-8")) for lang in LANGS}
        )

    def raw(self, lang: str, key: str) -> Any:
        """The stored value (string or list) for ``key``."""
        return self._texts[lang if lang in self._texts else "ar"][key]

    def get(self, lang: str, key: str, **values: object) -> str:
        """The text for ``key`` with ``{placeholders}`` filled (values isolated in Arabic)."""
        template = str(self.raw(lang, key))
        if lang == "ar":
            values = {k: isolate(v) if isinstance(v, str) else v for k, v in values.items()}
        return template.format_map(values)
