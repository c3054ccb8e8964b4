"""Open-data layers for breadth: OpenStreetMap (Overpass) and Overture Maps places.

They are synced to snapshots under ``DALIL_OPENDATA_DIR`` and merged with the curated YAML at
``dalil kb build``.

The curated YAML stays the source of truth; these layers add the thousands of pharmacies, ATMs, fuel
stations and mosques no editor will ever type in. ``docs/opendata.md`` has the merge rules.
"""

from knowledge.opendata.candidate import LAYERS, Candidate, Layer
from knowledge.opendata.merge import MergeResult, merge, with_open_data
from knowledge.opendata.snapshot import Snapshot, read_snapshots, write_snapshot

__all__ = [
    "LAYERS",
    "Candidate",
    "Layer",
    "MergeResult",
    "Snapshot",
    "merge",
    "read_snapshots",
    "with_open_data",
    "write_snapshot",
]
