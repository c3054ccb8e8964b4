"""Load and check the YAML knowledge under ``data/``; each problem reads ``file:line: field: message``.

Editors are not programmers: one run lists all problems at once, each pointing at the line to fix,
instead of stopping at the first. Records with errors are left out of the result, so a caller that
ignores errors still gets only valid data, but :func:`load_knowledge` never hides an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from knowledge.clock import now
from knowledge.geo import CITY_FILE, DISTRICTS_FILE, DistrictMap, GeoData, assign_districts, check_geometry
from knowledge.schema import Category, District, Place, Service

__all__ = [
    "STALE_AFTER_DAYS",
    "Issue",
    "IssueLevels",
    "KnowledgeBase",
    "LoadResult",
    "content_hash",
    "load_knowledge",
]

STALE_AFTER_DAYS = 180

Level = Literal["error", "warning"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in the data, located by file and line."""

    path: str
    line: int
    field: str
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        return f"{self.path}:{self.line}: {prefix}{self.field}: {self.message}"


@dataclass(frozen=True)
class Located:
    """Where a record came from, for messages about it after loading."""

    path: str
    line: int


@dataclass
class KnowledgeBase:
    """The valid records of one data directory."""

    places: list[Place] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    districts: list[District] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    origin: dict[str, Located] = field(default_factory=dict)
    """Where each place id was defined."""
    geo: GeoData = field(default_factory=GeoData)
    """District polygons and the city boundary (``data/geo/``), when the data has them."""
    digest: str = ""
    """Content hash of every file read; equal digests mean equal knowledge."""


class IssueLevels:
    """``errors`` and ``warnings`` of a result that holds ``issues``."""

    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        """Problems that must be fixed before the data can be built."""
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Problems worth fixing that do not block a build."""
        return [i for i in self.issues if i.level == "warning"]


@dataclass
class LoadResult(IssueLevels):
    """What loading found: the knowledge and the problems."""

    kb: KnowledgeBase
    issues: list[Issue]


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _key_line(node: Any, key: str | int, default: int) -> tuple[Any, int]:
    """The child node under ``key`` and the 1-based line it starts on."""
    if isinstance(node, CommentedMap) and isinstance(key, str) and key in node:
        return node[key], node.lc.key(key)[0] + 1
    if isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
        return node[key], node.lc.item(key)[0] + 1
    return None, default


def _locate(node: Any, loc: Sequence[str | int], line: int) -> int:
    for part in loc:
        node, line = _key_line(node, part, line)
        if node is None:
            break
    return line


def _field_name(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(record)"


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "extra_forbidden":
        return "unknown field (check its spelling; see `dalil kb schema`)"
    return msg


class _FileReader:
    """Reads one YAML file, collecting issues instead of raising."""

    def __init__(self, path: Path, issues: list[Issue]) -> None:
        self.path = path
        self.name = _display(path)
        self.issues = issues
        self.raw = b""

    def error(self, line: int, field_name: str, message: str, level: Level = "error") -> None:
        self.issues.append(Issue(self.name, line, field_name, message, level))

    def records(self, top_key: str) -> Iterator[tuple[CommentedMap, int]]:
        """Yield each mapping under ``top_key`` with its line number."""
        try:
            self.raw = self.path.read_bytes()
            doc = YAML(typ="rt").load(self.raw)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            self.error(
                line, "(yaml)", f"{exc.problem or 'cannot parse'}{' ' + exc.context if exc.context else ''}"
            )
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.error(1, "(file)", f"cannot read: {exc}")
            return
        if doc is None:
            self.error(1, top_key, "file is empty")
            return
        if not isinstance(doc, CommentedMap) or top_key not in doc:
            self.error(1, top_key, f"expected a top-level '{top_key}:' list")
            return
        items = doc[top_key]
        if items is None:
            return
        if not isinstance(items, CommentedSeq):
            self.error(doc.lc.key(top_key)[0] + 1, top_key, "must be a list of records ('- id: ...')")
            return
        for index, item in enumerate(items):
            line = items.lc.item(index)[0] + 1
            if not isinstance(item, CommentedMap):
                self.error(line, f"{top_key}[{index}]", "each record must be a mapping with 'id: ...'")
                continue
            yield item, line

    def validate(self, model: type[M], item: CommentedMap, line: int) -> M | None:
        try:
            return model.model_validate(_plain(item))
        except ValidationError as exc:
            label = item.get("id")
            for error in exc.errors():
                loc = error["loc"]
                where = _locate(item, loc, line)
                msg = _message(error)
                if label and loc and loc[0] != "id":
                    msg = f"{msg} (in {label})"
                self.error(where, _field_name(loc), msg)
            return None


def _plain(node: Any) -> Any:
    """Ruamel's round-trip containers as plain dicts and lists (pydantic is faster on those)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "places").glob("*.yml")) + sorted((data_dir / "places").glob("*.yaml"))


def _feature_lines(raw: str) -> list[int]:
    """The line of each feature, in a file written one feature per line (as ``kb geo-import`` does)."""
    return [n for n, text in enumerate(raw.splitlines(), 1) if text.lstrip().startswith('{"type":"Feature"')]


def _read_geo(data_dir: Path, districts: set[str], issues: list[Issue]) -> GeoData:
    """The GeoJSON under ``data/geo/``; absent files are fine (answers then use the bounding box)."""
    shapes: dict[str, dict[str, Any]] = {}
    boundary: dict[str, Any] | None = None
    for name in (DISTRICTS_FILE, CITY_FILE):
        path = data_dir / name
        if not path.exists():
            continue
        shown = _display(path)
        try:
            raw = path.read_text(encoding="utf-8")
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            issues.append(Issue(shown, exc.lineno, "(json)", exc.msg))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(shown, 1, "(file)", f"cannot read: {exc}"))
            continue
        features = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(features, list) or (name == CITY_FILE and len(features) != 1):
            what = "one feature" if name == CITY_FILE else "features"
            issues.append(Issue(shown, 1, "features", f"expected a GeoJSON FeatureCollection with {what}"))
            continue
        lines = _feature_lines(raw)
        for i, feature in enumerate(features):
            line = lines[i] if i < len(lines) else 1
            geometry = feature.get("geometry") if isinstance(feature, dict) else None
            problem = check_geometry(geometry)
            if problem is not None or not isinstance(feature, dict) or not isinstance(geometry, dict):
                issues.append(Issue(shown, line, f"features[{i}].geometry", problem or "not a feature"))
                continue
            if name == CITY_FILE:
                boundary = geometry
                continue
            district = (feature.get("properties") or {}).get("district")
            if district not in districts or district in shapes:
                why = "duplicate" if district in shapes else "unknown"
                issues.append(
                    Issue(shown, line, f"features[{i}].properties.district", f"{why} district {district!r}")
                )
                continue
            shapes[district] = geometry
    return GeoData(shapes, boundary)


def content_hash(paths: Iterable[Path]) -> str:
    """SHA-256 over the names and bytes of ``paths``."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def load_knowledge(data_dir: Path | str, today: date | None = None) -> LoadResult:
    """Load ``categories.yml``, ``districts.yml``, ``services.yml`` and ``places/*.yml`` from ``data_dir``.

    Args:
        data_dir: the data directory (normally ``data/``).
        today: the date stale-data warnings are measured from (default: today in Riyadh).

    Returns:
        The valid records and every problem found, errors and warnings.
    """
    data_dir = Path(data_dir)
    if today is None:
        today = now().date()
    issues: list[Issue] = []
    kb = KnowledgeBase()
    seen: dict[tuple[str, str], Located] = {}

    def check_refs(reader: _FileReader, place: Place, item: CommentedMap, line: int) -> bool:
        """Report category and district ids the data does not define; True when all are known."""
        ok = True
        for i, category in enumerate(place.categories):
            if category not in known["categories"]:
                where = _locate(item, ["categories", i], line)
                reader.error(where, f"categories[{i}]", f"unknown category {category!r} (in {place.id})")
                ok = False
        if place.district is not None and place.district not in known["districts"]:
            where = _locate(item, ["district"], line)
            reader.error(where, "district", f"unknown district {place.district!r} (in {place.id})")
            ok = False
        return ok

    def collect(path: Path, top_key: str, model: type[M], into: list[M]) -> None:
        if not path.exists():
            issues.append(Issue(_display(path), 1, "(file)", "file is missing"))
            return
        reader = _FileReader(path, issues)
        for item, line in reader.records(top_key):
            record = reader.validate(model, item, line)
            if record is None:
                continue
            record_id: str = getattr(record, "id")  # noqa: B009 - every model here has an id
            key = (top_key, record_id)
            if key in seen:
                first = seen[key]
                reader.error(
                    line, "id", f"duplicate id {record_id!r}; first defined at {first.path}:{first.line}"
                )
                continue
            seen[key] = Located(reader.name, line)
            if isinstance(record, Place):
                if record.open_data is not None:
                    where = _locate(item, ["open_data"], line)
                    reader.error(
                        where, "open_data", f"is set by `dalil kb build`, not in YAML (in {record_id})"
                    )
                    continue
                if not check_refs(reader, record, item, line):
                    continue
                kb.origin[record.id] = seen[key]
            into.append(record)
            verified = getattr(record, "last_verified", None)
            if verified is not None and verified < today - timedelta(days=STALE_AFTER_DAYS):
                where = _locate(item, ["last_verified"], line)
                age = (today - verified).days
                reader.error(where, "last_verified", f"{age} days old; re-check {record_id}", "warning")

    collect(data_dir / "categories.yml", "categories", Category, kb.categories)
    collect(data_dir / "districts.yml", "districts", District, kb.districts)
    collect(data_dir / "services.yml", "services", Service, kb.services)
    known = {"categories": {c.id for c in kb.categories}, "districts": {d.id for d in kb.districts}}
    place_files = _files(data_dir)
    if not place_files:
        issues.append(Issue(_display(data_dir / "places"), 1, "(files)", "no place files (places/*.yml)"))
    for path in place_files:
        collect(path, "places", Place, kb.places)
    kb.geo = _read_geo(data_dir, known["districts"], issues)
    kb.places = assign_districts(kb.places, DistrictMap(kb.districts, kb.geo))

    all_files = [data_dir / n for n in ("categories.yml", "districts.yml", "services.yml")] + place_files
    all_files += [data_dir / DISTRICTS_FILE, data_dir / CITY_FILE]
    kb.digest = content_hash(all_files)
    issues.sort()
    return LoadResult(kb, issues)
