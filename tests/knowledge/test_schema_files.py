"""The JSON Schemas in ``schema/`` (which the data files' modelines point to) match the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.kb_commands import SCHEMA_KINDS, schema_for

REPO = Path(__file__).parents[2]


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_committed_schema_is_current(kind: str) -> None:
    committed = json.loads((REPO / "schema" / f"{kind}.schema.json").read_text(encoding="utf-8"))
    assert committed == schema_for(kind), "run `dalil kb schema` and commit schema/"


def test_every_data_file_points_to_its_schema() -> None:
    for path in [*REPO.glob("data/*.yml"), *REPO.glob("data/places/*.yml")]:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target.exists(), f"{path}: {target}"
