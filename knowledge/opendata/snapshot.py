"""Open-data snapshots on disk: one JSON file per layer under ``DALIL_OPENDATA_DIR``.

A snapshot keeps the layer's answer as received (Overpass JSON, Overture GeoJSON) with when and where it
was fetched and under which licence, so ``kb build`` can re-map it whenever the categories change.
Writes are atomic (a temporary file in the same directory, then a rename): a failed or cut-short
download never replaces the previous layer, and a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.opendata.candidate import LAYERS

__all__ = [
    "SNAPSHOT_FORMAT",
    "Snapshot",
    "SnapshotError",
    "read_snapshot",
    "read_snapshots",
    "write_snapshot",
]

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 1


class SnapshotError(RuntimeError):
    """A snapshot file is unreadable or not a Dalil snapshot."""


@dataclass(frozen=True)
class Snapshot:
    """One layer as fetched."""

    layer: str
    fetched_at: str
    origin: str
    """The URL or file it came from."""
    licence: str
    attribution: str
    count: int
    """Elements (OSM) or features (Overture) in ``data``, before mapping and filtering."""
    data: dict[str, Any]
    digest: str
    """SHA-256 of the file: equal digests, equal layer."""


def _path(directory: Path, layer: str) -> Path:
    return directory / f"{layer}.json"


def _count(layer: str, data: dict[str, Any]) -> int:
    items = data.get("elements") if layer == "osm" else data.get("features")
    return len(items) if isinstance(items, list) else 0


def write_snapshot(
    directory: Path, layer: str, data: dict[str, Any], origin: str, fetched_at: datetime | None = None
) -> Path:
    """Write ``data`` as the current snapshot of ``layer``, atomically.

    Raises:
        OSError: the directory is not writable; the previous snapshot is untouched.
    """
    info = LAYERS[layer]
    moment = (fetched_at or datetime.now(UTC)).astimezone(UTC)
    doc = {
        "format": SNAPSHOT_FORMAT,
        "layer": layer,
        "fetched_at": moment.isoformat(timespec="seconds"),
        "origin": origin,
        "licence": info.licence,
        "attribution": info.attribution,
        "count": _count(layer, data),
        "data": data,
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = _path(directory, layer)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed only when complete
        "w", encoding="utf-8", dir=directory, prefix=f".{layer}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            json.dump(doc, handle, ensure_ascii=False, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # a temporary file is private; a snapshot is not
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    log.info("opendata_snapshot_written", extra={"layer": layer, "count": doc["count"]})
    return target


def read_snapshot(path: Path) -> Snapshot:
    """Read one snapshot file.

    Raises:
        SnapshotError: unreadable, or not a snapshot of a known layer.
    """
    try:
        raw = path.read_bytes()
        doc = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("layer") not in LAYERS or not isinstance(doc.get("data"), dict):
        raise SnapshotError(f"{path} is not a Dalil open-data snapshot")
    return Snapshot(
        layer=str(doc["layer"]),
        fetched_at=str(doc.get("fetched_at", "")),
        origin=str(doc.get("origin", "")),
        licence=str(doc.get("licence", LAYERS[doc["layer"]].licence)),
        attribution=str(doc.get("attribution", LAYERS[doc["layer"]].attribution)),
        count=int(doc.get("count", 0)),
        data=doc["data"],
        digest=hashlib.sha256(raw).hexdigest(),
    )


def read_snapshots(directory: Path) -> list[Snapshot]:
    """Every layer's current snapshot in ``directory`` (none when it does not exist), OSM first.

    Raises:
        SnapshotError: a snapshot file is unreadable (the build stops rather than drop a layer).
    """
    return [read_snapshot(_path(directory, layer)) for layer in LAYERS if _path(directory, layer).exists()]
