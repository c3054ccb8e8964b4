"""Overture Maps places: the GeoJSON ``overturemaps download --type=place -f geojson`` writes → candidates.

Categories map to ours through ``data/overture_categories.yml``. Names: ``names.primary`` plus the
language-keyed ``names.common`` (Arabic and English when present). Places Overture itself marks as
closed are left out; ``confidence`` is kept so the merge can hold back doubtful ones.

The live download uses the ``overturemaps`` package (the ``opendata`` extra), imported only inside
:func:`download`; reading a file needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from knowledge.opendata.candidate import Candidate, clean_text, has_arabic
from knowledge.osm import normalize_phone

__all__ = ["OvertureError", "candidates", "download", "load_category_map", "read_geojson"]

log = logging.getLogger(__name__)


class OvertureError(RuntimeError):
    """The Overture file or download is unusable."""


def load_category_map(path: Path) -> dict[str, str]:
    """``overture category → our category id`` from the mapping table (ours: [theirs, …]).

    Raises:
        OvertureError: the table is missing or malformed.
    """
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OvertureError(f"cannot read {path}: {exc}") from None
    table = doc.get("categories") if isinstance(doc, dict) else None
    if not isinstance(table, dict):
        raise OvertureError(f"{path}: expected a top-level 'categories:' mapping")
    mapping: dict[str, str] = {}
    for ours, theirs in table.items():
        for name in theirs or ():
            mapping.setdefault(str(name), str(ours))
    return mapping


def read_geojson(path: Path) -> dict[str, Any]:
    """A FeatureCollection from ``path``: GeoJSON, or GeoJSON sequence (one feature per line).

    Raises:
        OvertureError: neither, or cut short.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OvertureError(f"cannot read {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except ValueError as first:
        try:
            features = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise OvertureError(f"{path} is not complete GeoJSON: {first}") from None
        doc = {"type": "FeatureCollection", "features": features}
    check_collection(doc)
    return dict(doc)


def check_collection(doc: Any) -> None:
    """Raise unless ``doc`` is a GeoJSON FeatureCollection.

    Raises:
        OvertureError: it is not.
    """
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise OvertureError("not a GeoJSON FeatureCollection")
    if not isinstance(doc.get("features"), list):
        raise OvertureError("the FeatureCollection has no 'features' list")


def _common(names: Mapping[str, Any]) -> dict[str, str]:
    """``names.common`` keyed by language; pyarrow writes a map as ``[[lang, text], …]``."""
    common = names.get("common")
    if isinstance(common, dict):
        return {str(k): str(v) for k, v in common.items() if v}
    if isinstance(common, list):
        return {str(p[0]): str(p[1]) for p in common if isinstance(p, list | tuple) and len(p) == 2 and p[1]}
    return {}


def _point(geometry: Any) -> tuple[float, float] | None:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list):
        return None
    try:
        return float(coords[1]), float(coords[0])
    except (TypeError, ValueError, IndexError):
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _address(addresses: Any) -> str | None:
    if not isinstance(addresses, list) or not addresses or not isinstance(addresses[0], dict):
        return None
    first = addresses[0]
    parts = [first.get("freeform"), first.get("locality")]
    return clean_text(", ".join(p for p in parts if isinstance(p, str) and p))


def candidates(doc: Any, category_map: Mapping[str, str]) -> Iterator[Candidate]:
    """The places of an Overture GeoJSON FeatureCollection whose category maps to one of ours.

    Raises:
        OvertureError: ``doc`` is not a FeatureCollection.
    """
    check_collection(doc)
    for feature in doc["features"]:
        if not isinstance(feature, dict):
            continue
        props = feature.get("properties")
        if not isinstance(props, dict):
            continue
        point = _point(feature.get("geometry"))
        gers = feature.get("id") or props.get("id")
        if point is None or not isinstance(gers, str):
            continue
        if props.get("operating_status") in ("permanently_closed", "temporarily_closed"):
            continue
        cats = _mapping(props.get("categories"))
        theirs = [cats.get("primary"), *_strings(cats.get("alternate"))]
        ours = [category_map[c] for c in theirs if isinstance(c, str) and c in category_map]
        if not ours:
            continue
        names = _mapping(props.get("names"))
        primary = clean_text(names.get("primary"))
        common = _common(names)
        name_ar = clean_text(common.get("ar")) or (primary if primary and has_arabic(primary) else None)
        name_en = clean_text(common.get("en")) or (primary if primary and not has_arabic(primary) else None)
        phones = (normalize_phone(p) for p in _strings(props.get("phones")))
        websites = [w for w in _strings(props.get("websites")) if w.startswith(("http://", "https://"))]
        confidence = props.get("confidence")
        yield Candidate(
            layer="overture",
            ref=f"overture:{gers}",
            url=f"https://explore.overturemaps.org/?gers={gers}",
            category=ours[0],
            lat=point[0],
            lon=point[1],
            name=primary,
            name_ar=name_ar,
            name_en=name_en,
            phones=tuple(dict.fromkeys(p for p in phones if p is not None)),
            website=clean_text(websites[0]) if websites else None,
            address=_address(props.get("addresses")),
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
            extra_categories=tuple(dict.fromkeys(c for c in ours[1:] if c != ours[0])),
        )


def download(bbox: Mapping[str, float], out: Path) -> None:  # pragma: no cover - needs the network
    """Download Overture places inside ``bbox`` as GeoJSON into ``out`` (needs the ``opendata`` extra).

    Raises:
        OvertureError: the package is missing or the download failed.
    """
    try:
        from overturemaps import core, writers  # the optional extra, only on this path
    except ImportError:
        raise OvertureError(
            "the overturemaps package is missing: `uv sync --extra opendata`, or download with "
            "`overturemaps download --type=place -f geojson` and pass --input"
        ) from None
    box = (bbox["lon_min"], bbox["lat_min"], bbox["lon_max"], bbox["lat_max"])
    reader = core.record_batch_reader("place", box)
    if reader is None:
        raise OvertureError("Overture returned no data for the Jeddah bounding box")
    with writers.get_writer("geojson", str(out), schema=reader.schema) as writer:
        writers.copy(reader, writer)
    log.info("overture_downloaded")
