"""District geometry: which district a point lies in, and whether it is in Jeddah at all.

The polygons come from Who's On First (CC0) through ``data/geo/districts.geojson`` (one district per
feature) and ``data/geo/jeddah.geojson`` (the city boundary); ``dalil kb geo-import`` regenerates both.
:class:`GeoData` is that geometry as plain GeoJSON, which is what the loader reads and the index stores;
:class:`DistrictMap` turns it into shapely geometry once, when a store opens, and answers point queries
from an STRtree. This is the only module that imports shapely.

Geometry is held in a local metric plane (metres east and north, scaled at Jeddah's latitude), so
distances and margins are in metres; across the city the scale error is under 0.5 %.

The bot reaches it as ``store.geo``: ``district_at(lat, lon)`` for a shared location,
``inside_jeddah(lat, lon)`` before answering "nearest", ``district_point(district_id)`` for "near <district>".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from knowledge.schema import JEDDAH_BBOX, District, Place

__all__ = [
    "CITY_FILE",
    "COAST_MARGIN_M",
    "DISTRICTS_FILE",
    "SNAP_M",
    "DistrictMap",
    "GeoData",
    "assign_districts",
    "check_geometry",
    "contains",
    "inner_point",
    "simplify",
    "union",
]

DISTRICTS_FILE = "geo/districts.geojson"
CITY_FILE = "geo/jeddah.geojson"

COAST_MARGIN_M = 1000.0
"""How far outside the boundary still counts as Jeddah. The WOF boundary follows the shore only roughly:
the fountain, the waterfront piers and the Corniche hotels lie within metres of it or just beyond. Open sea
farther out, and everything inland beyond the city, is outside."""

SNAP_M = 250.0
"""A point in no district polygon (a pier, a gap between polygons) takes the nearest district this close."""

_REF_LAT = 21.5
_M_PER_DEG = 111_195.0
_X_SCALE = _M_PER_DEG * math.cos(math.radians(_REF_LAT))

Geometry = dict[str, Any]
"""A GeoJSON geometry object (``{"type": "Polygon", "coordinates": ...}``)."""


@dataclass(frozen=True)
class GeoData:
    """District polygons (by district id) and the city boundary, as GeoJSON geometry objects."""

    shapes: Mapping[str, Geometry] = field(default_factory=dict)
    boundary: Geometry | None = None

    def records(self) -> list[dict[str, str]]:
        """Rows for the index's records table (kind ``geo``)."""
        rows = [{"kind": "geo", "id": f"district:{k}", "data": json.dumps(g)} for k, g in self.shapes.items()]
        if self.boundary is not None:
            rows.append({"kind": "geo", "id": "city", "data": json.dumps(self.boundary)})
        return rows

    @classmethod
    def from_records(cls, rows: Iterable[tuple[str, str]]) -> GeoData:
        """The inverse of :meth:`records`, from ``(id, data)`` pairs."""
        shapes: dict[str, Geometry] = {}
        boundary = None
        for record_id, data in rows:
            if record_id == "city":
                boundary = json.loads(data)
            else:
                shapes[record_id.removeprefix("district:")] = json.loads(data)
        return cls(shapes, boundary)


_SCALE = np.array([_X_SCALE, _M_PER_DEG])


def _to_plane(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    scaled: npt.NDArray[np.float64] = coords * _SCALE
    return scaled


def _planar(geometry: Geometry) -> BaseGeometry:
    return shapely.transform(shapely.from_geojson(json.dumps(geometry)), _to_plane)


def _point(lat: float, lon: float) -> BaseGeometry:
    return shapely.Point(lon * _X_SCALE, lat * _M_PER_DEG)


def check_geometry(geometry: Any) -> str | None:
    """Why ``geometry`` is not a valid GeoJSON (multi)polygon, or None when it is."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return "must be a GeoJSON Polygon or MultiPolygon"
    try:
        shape = shapely.from_geojson(json.dumps(geometry))
    except shapely.errors.GEOSException as exc:
        return f"cannot read the geometry: {exc}"
    if shape.is_empty or not shape.is_valid:
        return f"invalid polygon: {shapely.is_valid_reason(shape)}"
    return None


class DistrictMap:
    """Point → district and "is this in Jeddah?", from the polygons of one knowledge build.

    Built once per store (a store opens it from the index); queries take microseconds.
    """

    def __init__(self, districts: Iterable[District], geo: GeoData) -> None:
        """Parse the polygons into the metric plane and index them."""
        self._centroids = {d.id: (d.centroid.lat, d.centroid.lon) for d in districts if d.centroid}
        self._ids = list(geo.shapes)
        self._index = set(self._ids)
        self._polygons = [_planar(geo.shapes[i]) for i in self._ids]
        self._areas = [shape.area for shape in self._polygons]
        self._tree = shapely.STRtree(self._polygons)
        self._city = None if geo.boundary is None else _planar(geo.boundary)
        if self._city is not None:
            shapely.prepare(self._city)

    def district_at(self, lat: float, lon: float) -> str | None:
        """The id of the district containing (``lat``, ``lon``), or None.

        A point in no polygon takes the nearest district within :data:`SNAP_M` (piers, the shoreline,
        slivers between polygons); polygons do not overlap in the data, but if two contain the point the
        smaller, more specific one wins.
        """
        if not self._ids:
            return None
        point = _point(lat, lon)
        hits = self._tree.query(point, predicate="intersects")
        if len(hits):
            best = min((int(i) for i in hits), key=lambda i: self._areas[i])
            return self._ids[best]
        near = self._tree.query_nearest(point, max_distance=SNAP_M)
        return self._ids[int(near[0])] if len(near) else None

    def inside_jeddah(self, lat: float, lon: float) -> bool:
        """Whether (``lat``, ``lon``) is in Jeddah: within :data:`COAST_MARGIN_M` of the city boundary.

        Without boundary data this falls back to :data:`knowledge.schema.JEDDAH_BBOX`.
        """
        if self._city is None:
            box = JEDDAH_BBOX
            return box["lat_min"] <= lat <= box["lat_max"] and box["lon_min"] <= lon <= box["lon_max"]
        return bool(shapely.dwithin(self._city, _point(lat, lon), COAST_MARGIN_M))

    def has_polygon(self, district_id: str) -> bool:
        """Whether the data has this district's polygon."""
        return district_id in self._index

    def district_point(self, district_id: str) -> tuple[float, float] | None:
        """The district's centroid as ``(lat, lon)``, the reference point for "near Al-Rawdah".

        It comes from the district's cited ``centroid`` (WOF's label point, which lies inside the
        district); None when the data has none, and then answers rank by the places' ``district`` field.
        For "a pharmacy near Al-Rawdah"::

            point = store.geo.district_point("ar-rawdah")
            hits = store.nearest(*point, category="pharmacy") if point else []
            # no centroid, or nothing located: fall back to store.matching("pharmacy", "ar-rawdah")
        """
        return self._centroids.get(district_id)

    def counts(self) -> dict[str, int | bool]:
        """Numbers for ``dalil kb stats``."""
        return {
            "districts_with_centroid": len(self._centroids),
            "districts_with_polygon": len(self._ids),
            "city_boundary": self._city is not None,
        }


def assign_districts(places: Sequence[Place], districts: DistrictMap) -> list[Place]:
    """``places`` where each one without a ``district`` gets the one its location lies in, if any."""
    out: list[Place] = []
    for place in places:
        if place.district is None and place.location is not None:
            found = districts.district_at(place.location.lat, place.location.lon)
            if found is not None:
                place = place.model_copy(update={"district": found})
        out.append(place)
    return out


# --- helpers for the importer (degrees, not the metric plane) -------------------------------------------


def simplify(geometry: Geometry, tolerance_deg: float, grid_deg: float = 1e-6) -> Geometry:
    """``geometry`` simplified (topology kept) and snapped to a ``grid_deg`` grid, as GeoJSON."""
    shape = shapely.from_geojson(json.dumps(geometry)).simplify(tolerance_deg, preserve_topology=True)
    shape = shapely.set_precision(shape, grid_deg)  # keeps the polygon valid
    result: Geometry = json.loads(shapely.to_geojson(shape))
    return result


def union(geometries: Sequence[Geometry]) -> Geometry:
    """The union of several GeoJSON geometries."""
    shape = shapely.union_all([shapely.from_geojson(json.dumps(g)) for g in geometries])
    result: Geometry = json.loads(shapely.to_geojson(shape))
    return result


def contains(geometry: Geometry, lat: float, lon: float) -> bool:
    """Whether the GeoJSON ``geometry`` contains (``lat``, ``lon``)."""
    return bool(shapely.from_geojson(json.dumps(geometry)).contains(shapely.Point(lon, lat)))


def inner_point(geometry: Geometry) -> tuple[float, float]:
    """A ``(lat, lon)`` surely inside ``geometry`` (shapely's point on surface)."""
    inside = shapely.from_geojson(json.dumps(geometry)).point_on_surface()
    return inside.y, inside.x
