"""``dalil kb …``: validate, build, inspect, sync and edit the knowledge base."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from bot import editor_commands, kb_commands
from knowledge.loader import STALE_AFTER_DAYS

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``dalil kb`` and its sub-commands."""
    kb = commands.add_parser("kb", help="knowledge base: validate, build, inspect")
    sub = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")
    _index(sub)
    _editing(sub)


def _index(sub: Any) -> None:
    """The index commands (:mod:`bot.kb_commands`)."""
    sub.add_parser(
        "validate", help="check data/ and list every problem as file:line: field: message"
    ).set_defaults(run=kb_commands.validate)
    sub.add_parser("build", help="validate, then rebuild the index atomically").set_defaults(
        run=kb_commands.build
    )
    stats = sub.add_parser("stats", help="what the index holds")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(run=kb_commands.stats)
    sync = sub.add_parser("sync", help="fetch an open-data layer (OSM, Overture) for the next build")
    sync.add_argument("layer", choices=["osm", "overture"])
    sync.add_argument(
        "--input", type=Path, help="read this file instead of downloading (Overpass JSON / GeoJSON)"
    )
    sync.set_defaults(run=kb_commands.sync)
    search = sub.add_parser("search", help="fuzzy place search by name")
    search.add_argument("text")
    search.add_argument("--category")
    search.add_argument("--district")
    search.add_argument("--lang", choices=["ar", "en"])
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--json", action="store_true")
    search.set_defaults(run=kb_commands.search)
    nearest = sub.add_parser("nearest", help="places nearest to a point")
    nearest.add_argument("lat", type=float)
    nearest.add_argument("lon", type=float)
    nearest.add_argument("--category")
    nearest.add_argument("--limit", type=int, default=5)
    nearest.add_argument("--radius-m", type=float)
    nearest.add_argument("--json", action="store_true")
    nearest.set_defaults(run=kb_commands.nearest)
    schema = sub.add_parser("schema", help="write JSON Schemas of the data files for editors")
    schema.add_argument("--out", type=Path, default=Path("schema"), help="directory (default: schema/)")
    schema.add_argument(
        "--print", dest="print_kind", choices=kb_commands.SCHEMA_KINDS, help="print one to stdout"
    )
    schema.set_defaults(run=kb_commands.schema)
    geo_import = sub.add_parser(
        "geo-import", help="district polygons, centroids and city boundary from a Who's On First checkout"
    )
    geo_import.add_argument("path", type=Path, help="checkout of whosonfirst-data/whosonfirst-data-admin-sa")
    geo_import.add_argument("--commit", help="the checkout's commit (default: read from PATH/.git)")
    geo_import.add_argument("--tolerance-deg", type=float, default=0.0005, help="simplification (degrees)")
    geo_import.set_defaults(run=kb_commands.geo_import)


def _editing(sub: Any) -> None:
    """The editors' commands (:mod:`bot.editor_commands`): lint, preview, stale, import, export."""
    lint = sub.add_parser("lint", help="validate plus editorial warnings (exit 1 only on errors)")
    lint.add_argument("--json", action="store_true", help="issues as JSON")
    lint.add_argument("--today", type=date.fromisoformat, help="measure ages from this day")
    lint.set_defaults(run=editor_commands.lint_command)
    preview = sub.add_parser("preview", help="the place card the bot would send, from the YAML as edited")
    preview.add_argument("place_id", metavar="ID")
    preview.add_argument("--at", help="ISO time (Asia/Riyadh when no offset); default now or DALIL_NOW")
    preview.add_argument("--lang", choices=["ar", "en"], help="one language (default: both)")
    preview.add_argument("--json", action="store_true", help="the replies as JSON")
    preview.set_defaults(run=editor_commands.preview)
    stale = sub.add_parser("stale", help="places to re-verify first: oldest checks, most asked about")
    stale.add_argument("--days", type=int, default=STALE_AFTER_DAYS, help="older than N days (default 180)")
    stale.add_argument("--limit", type=int, default=50)
    stale.add_argument("--json", action="store_true")
    stale.set_defaults(run=editor_commands.stale)
    imports = sub.add_parser("import", help="import places for review (never overwrites edited ones)")
    import_sub = imports.add_subparsers(dest="import_format", required=True, metavar="FORMAT")
    osm = import_sub.add_parser("osm", help="Overpass JSON or GeoJSON from OpenStreetMap")
    osm.add_argument("file", type=Path)
    osm.add_argument("--out", type=Path, help="new places file (default: data/places/import-osm-DATE.yml)")
    osm.set_defaults(run=editor_commands.import_osm)
    synced = import_sub.add_parser("synced", help="promote places synced from open data to curated YAML")
    synced.add_argument("place_ids", metavar="ID", nargs="+", help="ids as the index has them (osm-node-…)")
    synced.add_argument(
        "--out", type=Path, help="new places file (default: data/places/import-synced-DATE.yml)"
    )
    synced.set_defaults(run=editor_commands.import_synced)
    export = sub.add_parser("export", help="export the places")
    export_sub = export.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    geojson = export_sub.add_parser("geojson", help="places with coordinates as GeoJSON, for maps")
    geojson.add_argument("--out", type=Path, help="file (default: stdout)")
    geojson.set_defaults(run=editor_commands.export_geojson)
