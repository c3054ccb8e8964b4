"""Import Jeddah's district polygons, centroids and city boundary from a Who's On First checkout.

``dalil kb geo-import PATH`` reads a checkout (or an export) of whosonfirst-data/whosonfirst-data-admin-sa
(CC0), takes the current neighbourhoods whose hierarchy is the locality Jeddah, matches them to
``data/districts.yml`` by Arabic name, and writes:

- ``data/geo/districts.geojson``: one simplified polygon per matched district, one feature per line;
- ``data/geo/jeddah.geojson``: the simplified city boundary;
- ``centroid`` and ``centroid_source`` of each matched district in ``data/districts.yml``.

Every output names the repository commit it came from. Nothing from WOF but the data is kept.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from knowledge import geo

__all__ = ["JEDDAH_WOF_ID", "ImportReport", "git_head", "import_wof", "normalize_name"]

log = logging.getLogger(__name__)

JEDDAH_WOF_ID = 421200923
"""The WOF locality "Jeddah" (wikidata Q374365); its polygon is the city boundary."""

REPO = "whosonfirst-data/whosonfirst-data-admin-sa"
LICENCE = "CC0-1.0"
_SOURCE_PREFIX = "Who's On First "

_DIACRITICS = re.compile("[\u064b-\u0652\u0640]")
_LETTERS = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي", "ء": ""}
)


def normalize_name(text: str) -> str:
    """An Arabic district name folded for matching: no harakat, tatweel or hamza forms, no "حي" prefix."""
    text = _DIACRITICS.sub("", text).translate(_LETTERS)
    text = re.sub(r"\s+", " ", text).strip()
    return text.removeprefix("حي ").strip()


@dataclass
class _Record:
    path: str
    props: dict[str, Any]
    geometry: dict[str, Any]

    @property
    def wof_id(self) -> int:
        return int(self.props["wof:id"])

    @property
    def arabic_names(self) -> list[str]:
        return [n for k in ("name:ara_x_preferred", "name:ara_x_variant") for n in self.props.get(k, [])]

    def url(self, commit: str) -> str:
        return f"https://raw.githubusercontent.com/{REPO}/{commit}/{self.path}"


@dataclass
class ImportReport:
    """What an import matched, and what it could not."""

    commit: str
    matched: dict[str, list[int]] = field(default_factory=dict)
    """district id → the WOF ids whose polygons make it up."""
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    """Current Jeddah neighbourhoods with no district of that name (or with only a point)."""
    centroids: dict[str, str] = field(default_factory=dict)
    """district id → how its centroid was chosen."""
    polygons: int = 0
    """How many districts got a polygon."""


def git_head(checkout: Path) -> str | None:
    """The commit a git checkout has out, read from ``.git`` without running git."""
    git = checkout / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
    except OSError:
        return None
    if not head.startswith("ref: "):
        return head
    ref = head.removeprefix("ref: ")
    if (git / ref).is_file():
        return (git / ref).read_text().strip()
    packed = git / "packed-refs"
    for line in packed.read_text().splitlines() if packed.is_file() else []:
        if line.endswith(" " + ref):
            return line.split()[0]
    return None


def _records(checkout: Path) -> Iterator[_Record]:
    for path in sorted((checkout / "data").rglob("*.geojson")):
        if "-alt" in path.name:  # alternative geometries of a record, not records
            continue
        feature = json.loads(path.read_text(encoding="utf-8"))
        yield _Record(path.relative_to(checkout).as_posix(), feature["properties"], feature["geometry"])


def _in_jeddah(props: dict[str, Any]) -> bool:
    return any(h.get("locality_id") == JEDDAH_WOF_ID for h in props.get("wof:hierarchy", []))


def _header(commit: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": f"Who's On First, https://github.com/{REPO}",
        "commit": commit,
        "licence": LICENCE,
        "generated_by": "dalil kb geo-import",
        **extra,
    }


def _write_collection(path: Path, header: dict[str, Any], features: list[dict[str, Any]]) -> None:
    """A FeatureCollection with one feature per line, so loader errors can name the line."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    head = json.dumps(header, ensure_ascii=False)
    body = ",\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'{{"type":"FeatureCollection","dalil":{head},"features":[\n{body}\n]}}\n', encoding="utf-8"
    )


def _centroid(records: list[_Record], shape: dict[str, Any], commit: str) -> tuple[float, float, str]:
    """WOF's label point, else its geometric centroid, else a point inside: the first that is in ``shape``.

    Returns:
        ``(lat, lon, source)``, the source naming the record, the property used and the record's URL.
    """
    for record in records:
        for prefix, what in (
            ("lbl", "label point (lbl:latitude/longitude)"),
            ("geom", "geom:latitude/longitude"),
        ):
            lat, lon = record.props.get(f"{prefix}:latitude"), record.props.get(f"{prefix}:longitude")
            if lat is not None and lon is not None and geo.contains(shape, lat, lon):
                return (
                    round(lat, 6),
                    round(lon, 6),
                    f"{record.wof_id} {what}, {LICENCE}: {record.url(commit)}",
                )
    lat, lon = geo.inner_point(shape)
    first = records[0]
    how = (
        f"{first.wof_id} polygon, a point inside it (its label point is not), {LICENCE}: {first.url(commit)}"
    )
    return round(lat, 6), round(lon, 6), how


def _names(doc: Any) -> dict[str, set[str]]:
    """Normalised Arabic name or alias → the district ids that carry it."""
    by_name: dict[str, set[str]] = {}
    for item in doc["districts"]:
        names = [item["name"]["ar"], item.get("name_full_ar") or "", *item.get("aliases", {}).get("ar", [])]
        for name in filter(None, names):
            by_name.setdefault(normalize_name(name), set()).add(str(item["id"]))
    return by_name


def _collect(
    checkout: Path, by_name: dict[str, set[str]], report: ImportReport
) -> tuple[_Record, dict[str, list[_Record]]]:
    """The city record, and Jeddah's current neighbourhoods grouped by the district they match."""
    city: _Record | None = None
    groups: dict[str, list[_Record]] = {}
    for record in _records(checkout):
        props = record.props
        if props.get("wof:id") == JEDDAH_WOF_ID:
            city = record
        if props.get("wof:placetype") != "neighbourhood" or props.get("mz:is_current") == 0:
            continue
        if not _in_jeddah(props) or props.get("wof:superseded_by") or props.get("edtf:deprecated"):
            continue
        ids = {i for n in record.arabic_names for i in by_name.get(normalize_name(n), set())}
        if len(ids) == 1:
            groups.setdefault(ids.pop(), []).append(record)
            continue
        report.unmatched.append(
            {
                "wof_id": record.wof_id,
                "name": props.get("wof:name"),
                "name_ar": record.arabic_names,
                "geometry": record.geometry.get("type"),
                "candidates": sorted(ids),
            }
        )
    if city is None:
        raise ValueError(f"no WOF record {JEDDAH_WOF_ID} (Jeddah) under {checkout}/data")
    return city, groups


def _point_centroid(record: _Record, commit: str) -> tuple[float, float, str]:
    lon, lat = record.geometry["coordinates"][:2]
    return round(lat, 6), round(lon, 6), f"{record.wof_id} point, {LICENCE}: {record.url(commit)}"


def import_wof(checkout: Path, data_dir: Path, commit: str, tolerance_deg: float = 0.0005) -> ImportReport:
    """Regenerate ``data_dir``'s district geometry and centroids from the WOF ``checkout`` at ``commit``.

    A district matched by polygons gets the (union of its) simplified polygons and a centroid inside
    them; one matched only by a WOF point gets that point as centroid and no polygon.
    """
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    districts_path = data_dir / "districts.yml"
    doc = yaml.load(districts_path.read_text(encoding="utf-8"))
    report = ImportReport(commit)
    city, groups = _collect(checkout, _names(doc), report)

    features = []
    centroids: dict[str, tuple[float, float, str]] = {}
    for district_id, found in sorted(groups.items()):
        records = [r for r in found if r.geometry.get("type") in ("Polygon", "MultiPolygon")]
        report.matched[district_id] = [r.wof_id for r in records or found]
        if not records:
            centroids[district_id] = _point_centroid(found[0], commit)
            continue
        records.sort(key=lambda r: -float(r.props.get("geom:area", 0.0)))
        raw = records[0].geometry if len(records) == 1 else geo.union([r.geometry for r in records])
        shape = geo.simplify(raw, tolerance_deg)
        centroids[district_id] = _centroid(records, shape, commit)
        properties = {
            "district": district_id,
            "wof_id": report.matched[district_id],
            "wof_name": [r.props.get("wof:name") for r in records],
            "source": [r.url(commit) for r in records],
        }
        features.append({"type": "Feature", "properties": properties, "geometry": shape})
    report.polygons = len(features)
    header = _header(commit, simplify_tolerance_deg=tolerance_deg, unmatched=report.unmatched)
    _write_collection(data_dir / geo.DISTRICTS_FILE, header, features)
    boundary = {
        "type": "Feature",
        "properties": {
            "wof_id": city.wof_id,
            "wof_name": city.props.get("wof:name"),
            "source": city.url(commit),
        },
        "geometry": geo.simplify(city.geometry, tolerance_deg),
    }
    _write_collection(
        data_dir / geo.CITY_FILE, _header(commit, simplify_tolerance_deg=tolerance_deg), [boundary]
    )
    _write_centroids(doc, centroids, report)
    out = io.StringIO()
    yaml.dump(doc, out)
    districts_path.write_text(out.getvalue(), encoding="utf-8")
    log.info("wof_imported", extra={"matched": len(report.matched), "unmatched": len(report.unmatched)})
    return report


def _write_centroids(doc: Any, centroids: dict[str, tuple[float, float, str]], report: ImportReport) -> None:
    """Set each matched district's centroid; an editor's own cited centroid is left alone."""
    for item in doc["districts"]:
        found = centroids.get(str(item["id"]))
        source = str(item.get("centroid_source", ""))
        if found is None:
            if source.startswith(_SOURCE_PREFIX):  # a centroid an earlier import wrote; WOF dropped it
                del item["centroid"], item["centroid_source"]
            continue
        if "centroid" in item and not source.startswith(_SOURCE_PREFIX):
            continue
        lat, lon, how = found
        point = CommentedMap([("lat", lat), ("lon", lon)])
        point.fa.set_flow_style()
        for key in ("centroid", "centroid_source"):
            item.pop(key, None)
        at = list(item).index("source") if "source" in item else len(item)
        item.insert(at, "centroid", point)
        item.insert(at + 1, "centroid_source", _SOURCE_PREFIX + how)
        report.centroids[str(item["id"])] = how
