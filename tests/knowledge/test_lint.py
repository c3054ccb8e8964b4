"""``knowledge.lint``: validation errors plus the editorial warnings, each at the right file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from knowledge.lint import lint
from tests.knowledge.conftest import PLACES, write_data

TODAY = date(2026, 11, 30)
BEFORE_RAMADAN = date(2027, 1, 20)  # Ramadan 1448 starts 2027-02-08 (Umm al-Qura)


def _messages(data: Path, today: date = TODAY) -> list[str]:
    return [f"{i.path}:{i.line}: {i.level}: {i.field}: {i.message}" for i in lint(data, today).issues]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_good_data_has_warnings_only(data_dir: Path) -> None:
    report = lint(data_dir, TODAY)
    assert report.errors == []
    places = data_dir / "places" / "main.yml"
    found = {(i.field, i.line, i.message.split(" (in ")[-1]) for i in report.warnings}
    # mall-of-arabia has no aliases, no phone, website or hours; the warning points at its name / id line.
    assert ("aliases", _line_of(places, "name: {ar: مول العرب"), "mall-of-arabia)") in found
    assert ("(record)", _line_of(places, "id: mall-of-arabia"), "mall-of-arabia)") in found
    # Nothing warns about Ramadan in late November (it is 70 days away).
    assert not [i for i in report.warnings if i.field == "ramadan_hours"]


def test_ramadan_within_30_days_flags_places_with_hours_but_no_ramadan_hours(data_dir: Path) -> None:
    warned = {
        i.message.split(" (in ")[-1]
        for i in lint(data_dir, BEFORE_RAMADAN).warnings
        if i.field == "ramadan_hours"
    }
    assert warned == {"king-fahd-fountain)"}  # red-sea-mall has ramadan_hours; the others have no hours


def test_stale_duplicate_phone_and_name_warnings(tmp_path: Path) -> None:
    extra = """\
places:
  - id: fountain-copy
    name: {ar: Fountain, en: King Fahd Fountain}
    categories: [landmark]
    location: {lat: 21.5155, lon: 39.1452}
    phones: ["+9660122345678"]
    source: https://example.test/copy
    last_verified: 2025-01-01
"""
    data = write_data(tmp_path, extra={"zz-extra.yml": extra})
    extra_file = data / "places" / "zz-extra.yml"
    lines = _messages(data)
    rel = [m for m in lines if "fountain-copy" in m]
    text = "\n".join(rel)
    assert f":{_line_of(extra_file, 'last_verified')}: warning: last_verified: " in text
    assert "looks like king-fahd-fountain" in text
    assert (
        f":{_line_of(extra_file, 'phones')}: warning: phones[0]: +9660122345678 is not a Saudi number" in text
    )
    assert f":{_line_of(extra_file, 'name:')}: warning: name.ar: 'Fountain' has no Arabic letters" in text
    assert all(name.endswith("zz-extra.yml") for name in (m.split(":")[0] for m in rel))


def test_point_far_from_district_centroid(tmp_path: Path) -> None:
    data = write_data(tmp_path)
    districts = (data / "districts.yml").read_text(encoding="utf-8")
    districts = districts.replace(
        "name: {ar: الحمراء, en: Al Hamra}",
        "name: {ar: الحمراء, en: Al Hamra}\n    centroid: {lat: 21.52, lon: 39.15}",
    ).replace(
        "name: {ar: الشاطئ, en: Ash Shati}",
        "name: {ar: الشاطئ, en: Ash Shati}\n    centroid: {lat: 21.52, lon: 39.15}",
    )
    (data / "districts.yml").write_text(districts, encoding="utf-8")
    far = [i for i in lint(data, TODAY).warnings if i.field == "location"]
    # The fountain is 0.8 km from Al Hamra's centre; Red Sea Mall is ~13 km from the (made-up) Ash Shati one.
    assert [i.message.split(" (in ")[-1] for i in far] == ["red-sea-mall)"]
    assert far[0].line == _line_of(data / "places" / "main.yml", "location: {lat: 21.6270")


def test_errors_from_validation_are_kept_with_their_lines(tmp_path: Path) -> None:
    broken = PLACES.replace('phones: ["+966122345678"]', 'phones: ["0122345678"]').replace(
        "categories: [mall]\n    location: {lat: 21.6330", "categories: [malls]\n    location: {lat: 21.6330"
    )
    data = write_data(tmp_path, places=broken)
    report = lint(data, TODAY)
    places = data / "places" / "main.yml"
    errors = {(i.line, i.field) for i in report.errors}
    assert (_line_of(places, '"0122345678"'), "phones[0]") in errors
    assert (_line_of(places, "categories: [malls]"), "categories[0]") in errors
