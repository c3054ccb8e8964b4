"""``dalil kb …``: the knowledge tools editors and operators run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from bot.settings import Settings
from bot.wiring import BuildRefusedError, KnowledgeService
from knowledge.loader import LoadResult, load_knowledge
from knowledge.opendata import LAYERS, overpass, overture
from knowledge.opendata.snapshot import SnapshotError, read_snapshot, write_snapshot
from knowledge.schema import JEDDAH_BBOX, Category, District, Place, Service
from knowledge.wof import git_head, import_wof

__all__ = ["SCHEMA_KINDS", "build", "geo_import", "nearest", "schema", "search", "stats", "sync", "validate"]

SCHEMA_KINDS = ("places", "categories", "districts", "services")
_MODELS: dict[str, type[BaseModel]] = {
    "places": Place,
    "categories": Category,
    "districts": District,
    "services": Service,
}


def _report(result: LoadResult) -> None:
    for issue in result.issues:
        print(issue, file=sys.stderr if issue.level == "error" else sys.stdout)
    kb = result.kb
    print(
        f"{len(result.errors)} error(s), {len(result.warnings)} warning(s); "
        f"{len(kb.places)} places, {len(kb.categories)} categories, {len(kb.districts)} districts, "
        f"{len(kb.services)} services"
    )


def validate(settings: Settings, _args: argparse.Namespace) -> int:
    """Check the data; exit 1 when there are errors (warnings do not fail)."""
    result = KnowledgeService(settings).validate()
    _report(result)
    return 1 if result.errors else 0


def build(settings: Settings, _args: argparse.Namespace) -> int:
    """Validate and rebuild the index; on errors the old index keeps serving."""
    service = KnowledgeService(settings)
    try:
        result, info = service.build()
    except BuildRefusedError as exc:
        _report(exc.result)
        print("not built: fix the errors above; the previous index is still serving", file=sys.stderr)
        return 1
    except SnapshotError as exc:
        print(f"not built: {exc}; sync that layer again", file=sys.stderr)
        return 1
    _report(result)
    merged = service.last_merge
    if merged.places or merged.linked or merged.dropped:
        layers = ", ".join(f"{k} {v}" for k, v in merged.per_layer().items()) or "none"
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(merged.dropped.items())) or "none"
        print(
            f"open data: {len(merged.places)} places ({layers}); {merged.merged} OSM+Overture pairs merged; "
            f"{sum(map(len, merged.linked.values()))} element(s) linked to curated places; dropped: {dropped}"
        )
    print(f"built {info.build_id} ({len(result.kb.places)} places)")
    return 0


def stats(settings: Settings, args: argparse.Namespace) -> int:
    """Print what the index holds."""
    store = KnowledgeService(settings).store()
    counts = store.counts
    if args.json:
        print(store.to_json())
        return 0
    build_info = counts["build"] or {}
    print(f"index build {build_info.get('build_id', '-')} at {build_info.get('built_at', '-')}")
    for key in ("places", "categories", "categories_used", "districts", "districts_used", "services"):
        print(f"{key:>20}: {counts[key]}")
    for label, key in (
        ("district centroids", "districts_with_centroid"),
        ("district polygons", "districts_with_polygon"),
    ):
        print(f"{label:>20}: {counts[key]} / {counts['districts']}")
    print(f"{'city boundary':>20}: {'yes' if counts['city_boundary'] else 'no (bounding box)'}")
    print(f"{'per source':>20}: " + ", ".join(f"{k} {v}" for k, v in counts["per_source"].items()))
    for key in ("with_location", "with_hours", "with_ramadan_hours", "with_phone", "with_website"):
        print(f"{key:>20}: {counts[key]} / {counts['places']}")
    top = ", ".join(f"{k} {v}" for k, v in list(counts["per_category"].items())[:12])
    print(f"{'top categories':>20}: {top}")
    return 0


def _place_line(place: Place, extra: str) -> str:
    return f"{place.id:<40} {place.name.ar} | {place.name.en}  {extra}"


def search(settings: Settings, args: argparse.Namespace) -> int:
    """Fuzzy search by name; exit 1 when nothing matches."""
    store = KnowledgeService(settings).store()
    hits = store.search(
        args.text, lang=args.lang, category=args.category, district=args.district, limit=args.limit
    )
    if args.json:
        rows = [{"id": h.place.id, "score": round(h.score, 1), "matched": h.matched} for h in hits]
        print(json.dumps(rows, ensure_ascii=False))
    for hit in [] if args.json else hits:
        print(_place_line(hit.place, f"[{hit.score:.0f}: {hit.matched}]"))
    if not hits and not args.json:
        print(f"no place matches {args.text!r}", file=sys.stderr)
    return 0 if hits else 1


def _distance(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def nearest(settings: Settings, args: argparse.Namespace) -> int:
    """Places nearest to a point; exit 1 when none is in range."""
    store = KnowledgeService(settings).store()
    hits = store.nearest(args.lat, args.lon, category=args.category, limit=args.limit, radius_m=args.radius_m)
    if args.json:
        print(json.dumps([{"id": h.place.id, "distance_m": round(h.distance_m)} for h in hits]))
    for hit in [] if args.json else hits:
        print(_place_line(hit.place, _distance(hit.distance_m)))
    if not hits and not args.json:
        print("no place with coordinates in range", file=sys.stderr)
    return 0 if hits else 1


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind of data file (a top-level list of records)."""
    item = TypeAdapter(_MODELS[kind]).json_schema(by_alias=True)
    defs = item.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Dalil {kind} file",
        "type": "object",
        "additionalProperties": False,
        "required": [kind],
        "properties": {kind: {"type": "array", "items": item}},
        "$defs": defs,
    }


def schema(_settings: Settings, args: argparse.Namespace) -> int:
    """Write (or print) the JSON Schemas editors' tools use for completion and checking."""
    if args.print_kind:
        print(json.dumps(schema_for(args.print_kind), ensure_ascii=False, indent=2))
        return 0
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for kind in SCHEMA_KINDS:
        path = out / f"{kind}.schema.json"
        path.write_text(json.dumps(schema_for(kind), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


def geo_import(settings: Settings, args: argparse.Namespace) -> int:
    """Regenerate ``data/geo/`` and district centroids from a Who's On First checkout."""
    commit = args.commit or git_head(args.path)
    if not commit:
        print(f"cannot tell which commit {args.path} is at: pass --commit SHA", file=sys.stderr)
        return 2
    report = import_wof(args.path, settings.data_dir, commit, args.tolerance_deg)
    print(f"Who's On First {commit}: {len(report.matched)} districts matched, {len(report.unmatched)} not")
    for item in report.unmatched:
        names = ", ".join(item["name_ar"])
        print(f"  unmatched {item['wof_id']} {item['name']} ({names}) {item['geometry']}")
    print("now run `dalil kb validate` and review the diff of data/districts.yml and data/geo/")
    return 0


# --- kb sync ------------------------------------------------------------------------------------------


def _osm_layer(settings: Settings, source: Path | None) -> tuple[dict[str, Any], str]:
    if source is not None:
        doc = json.loads(source.read_text(encoding="utf-8"))
        overpass.check_answer(doc)
        return doc, str(source)
    categories = load_knowledge(settings.data_dir).kb.categories
    query = overpass.build_query(categories, JEDDAH_BBOX)
    return overpass.fetch(query, settings.overpass_url), settings.overpass_url


def _overture_layer(settings: Settings, source: Path | None) -> tuple[dict[str, Any], str]:
    if source is not None:
        return overture.read_geojson(source), str(source)
    settings.opendata_dir.mkdir(parents=True, exist_ok=True)
    partial = settings.opendata_dir / ".overture-download.geojson"
    try:
        overture.download(JEDDAH_BBOX, partial)
        return overture.read_geojson(partial), "overturemaps place (Jeddah bbox)"
    finally:
        partial.unlink(missing_ok=True)


def sync(settings: Settings, args: argparse.Namespace) -> int:
    """Fetch (or read ``--input``) one open-data layer and keep it as the layer's snapshot, atomically.

    On any failure the previous snapshot stays; ``dalil kb build`` merges the snapshots into the index.
    """
    layer: str = args.layer
    reader = {"osm": _osm_layer, "overture": _overture_layer}[layer]
    try:
        data, origin = reader(settings, args.input)
    except (OSError, ValueError, overpass.OverpassError, overture.OvertureError) as exc:
        print(f"not synced: {exc}; the previous {layer} layer is kept", file=sys.stderr)
        return 1
    path = write_snapshot(settings.opendata_dir, layer, data, origin)
    snapshot = read_snapshot(path)
    print(
        f"wrote {path}: {snapshot.count} element(s) from {origin} ({LAYERS[layer].attribution}, "
        f"{LAYERS[layer].licence}); run `dalil kb build` to serve them"
    )
    return 0
