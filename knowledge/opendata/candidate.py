"""One place as an open-data layer describes it, before merging, and what each layer's licence asks."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["LAYERS", "Candidate", "Layer", "LayerInfo", "clean_text", "has_arabic"]

Layer = Literal["osm", "overture"]


@dataclass(frozen=True)
class LayerInfo:
    """What a layer is called, its licence and the attribution every answer from it shows."""

    title: str
    licence: str
    attribution: str


LAYERS: dict[str, LayerInfo] = {
    "osm": LayerInfo("OpenStreetMap", "ODbL-1.0", "© OpenStreetMap contributors"),
    "overture": LayerInfo("Overture Maps", "CDLA-Permissive-2.0", "© Overture Maps Foundation"),
}

_ARABIC = re.compile(r"[\u0600-\u06FF]")
_MAX_TEXT = 200


def has_arabic(text: str) -> bool:
    """Whether ``text`` contains Arabic letters."""
    return bool(_ARABIC.search(text))


def clean_text(value: object) -> str | None:
    """Plain, single-line text or None: control and bidi-override characters removed, length capped.

    Names from open data are shown as text on every channel; nothing in them may act as markup or
    reorder the surrounding line.
    """
    if not isinstance(value, str):
        return None
    # isprintable() is False for every control, format (bidi), private-use and surrogate character.
    kept = value if value.isprintable() else "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    text = " ".join(kept.split())[:_MAX_TEXT].strip()
    return text or None


@dataclass(frozen=True)
class Candidate:
    """A place from one layer, mapped to our categories, not yet merged."""

    layer: Layer
    ref: str
    """Layer-qualified element id: ``osm:node/123``, ``overture:08f2…``."""
    url: str
    """Where a person can see the element (the ``source`` of the place)."""
    category: str
    lat: float
    lon: float
    name: str | None = None
    """The name as mapped (``name`` in OSM, ``names.primary`` in Overture)."""
    name_ar: str | None = None
    name_en: str | None = None
    phones: tuple[str, ...] = ()
    website: str | None = None
    opening_hours: str | None = None
    address: str | None = None
    confidence: float | None = None
    extra_categories: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this element carries, without repeats."""
        return tuple(dict.fromkeys(n for n in (self.name_ar, self.name_en, self.name) if n))
