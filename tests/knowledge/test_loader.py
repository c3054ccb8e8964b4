"""The YAML loader: valid data loads; every kind of broken edit is named by file, line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from tests.knowledge.conftest import PLACES, write_data

TODAY = date(2026, 11, 24)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issues name files relative to the working directory, as editors see them.
    monkeypatch.chdir(tmp_path)


def test_valid_data_loads_without_issues(data_dir: Path) -> None:
    result = load_knowledge(data_dir, today=TODAY)
    assert result.issues == []
    assert [p.id for p in result.kb.places] == [
        "king-fahd-fountain",
        "red-sea-mall",
        "mall-of-arabia",
        "al-balad",
    ]
    assert result.kb.services[0].phone == "940"
    assert result.kb.origin["red-sea-mall"].line == 11


def test_bundled_data_is_valid() -> None:
    result = load_knowledge(Path(__file__).parents[2] / "data")
    assert result.errors == [], "\n".join(map(str, result.errors))
    assert len(result.kb.districts) == 170


def _broken(tmp_path: Path, old: str, new: str) -> list[str]:
    assert old in PLACES
    data = write_data(tmp_path, PLACES.replace(old, new, 1))
    return [str(i) for i in load_knowledge(data, today=TODAY).errors]


def test_bad_hours_report_line_field_and_caret(tmp_path: Path) -> None:
    errors = _broken(tmp_path, '"Mo-Su 18:00-24:00"', '"Mo-Su 18:00-2400"')
    assert len(errors) == 1
    assert errors[0].startswith(
        "data/places/main.yml:8: opening_hours: not valid OpenStreetMap opening_hours"
    )
    assert "^" in errors[0]
    assert "(in king-fahd-fountain)" in errors[0]


def test_unknown_category_and_district(tmp_path: Path) -> None:
    broken = PLACES.replace(
        "categories: [mall]\n    district: ash-shati", "categories: [mall, malls]\n    district: shati"
    )
    data = write_data(tmp_path, broken)
    errors = [str(i) for i in load_knowledge(data, today=TODAY).errors]
    assert errors == [
        "data/places/main.yml:14: categories[1]: unknown category 'malls' (in red-sea-mall)",
        "data/places/main.yml:15: district: unknown district 'shati' (in red-sea-mall)",
    ]


def test_duplicate_id_across_files_names_both_places(tmp_path: Path) -> None:
    again = (
        "places:\n  - id: al-balad\n    name: {ar: البلد, en: Balad}\n    categories: [landmark]\n"
        "    source: x\n    last_verified: 2026-11-01\n"
    )
    data = write_data(tmp_path, extra={"more.yml": again})
    errors = [str(i) for i in load_knowledge(data, today=TODAY).errors]
    assert errors == [
        "data/places/more.yml:2: id: duplicate id 'al-balad'; first defined at data/places/main.yml:28"
    ]


def test_bad_yaml_reports_its_line(tmp_path: Path) -> None:
    data = write_data(tmp_path, extra={"bad.yml": "places:\n  - id: x\n    name: {ar: س, en: [unclosed\n"})
    errors = load_knowledge(data, today=TODAY).errors
    assert len(errors) == 1
    assert errors[0].path == "data/places/bad.yml"
    assert errors[0].field == "(yaml)"
    assert errors[0].line >= 3


def test_phone_bbox_missing_source_unknown_field(tmp_path: Path) -> None:
    broken = (
        PLACES.replace('phones: ["+966122345678"]', 'phones: ["0122345678"]')
        .replace("location: {lat: 21.6330, lon: 39.1560}", "location: {lat: 39.1560, lon: 21.6330}")
        .replace("    source: https://example.test/balad\n", "    sauce: https://example.test/balad\n")
    )
    data = write_data(tmp_path, broken)
    errors = [str(i) for i in load_knowledge(data, today=TODAY).errors]
    assert errors[0] == (
        "data/places/main.yml:17: phones[0]: '0122345678' is not E.164 "
        "(write +966 and the number without its leading 0) (in red-sea-mall)"
    )
    assert errors[1].startswith(
        "data/places/main.yml:25: location: (39.156, 21.633) is outside Jeddah's bounding box"
    )
    assert errors[2] == "data/places/main.yml:28: source: required field is missing (in al-balad)"
    assert (
        errors[3]
        == "data/places/main.yml:33: sauce: unknown field (check its spelling; see `dalil kb schema`)"
        " (in al-balad)"
    )
    assert len(errors) == 4


def test_all_errors_listed_at_once_and_invalid_records_left_out(tmp_path: Path) -> None:
    broken = PLACES.replace(
        "categories: [landmark]\n    district: al-hamra\n    location",
        "categories: [nope]\n    district: al-hamra\n    location",
    )
    broken = broken.replace('"Sa-Th 10:00-24:00; Fr 16:00-24:00"', '"Sa-Th 10:00-24:00; Fri 16:00"')
    data = write_data(tmp_path, broken)
    result = load_knowledge(data, today=TODAY)
    assert len(result.errors) == 2
    assert [p.id for p in result.kb.places] == ["mall-of-arabia", "al-balad"]


def test_stale_last_verified_is_a_warning_not_an_error(tmp_path: Path) -> None:
    data = write_data(tmp_path)
    result = load_knowledge(data, today=date(2027, 11, 24))
    assert result.errors == []
    assert any(i.field == "last_verified" and "re-check red-sea-mall" in i.message for i in result.warnings)
    assert str(result.warnings[0]).split(": ")[1] == "warning"


def test_missing_file_and_wrong_top_level(tmp_path: Path) -> None:
    data = write_data(tmp_path)
    (data / "services.yml").unlink()
    (data / "places" / "main.yml").write_text("- id: x\n", encoding="utf-8")
    errors = [str(i) for i in load_knowledge(data, today=TODAY).errors]
    assert "data/places/main.yml:1: places: expected a top-level 'places:' list" in errors
    assert "data/services.yml:1: (file): file is missing" in errors
