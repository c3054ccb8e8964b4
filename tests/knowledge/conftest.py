"""A small, self-contained data directory for knowledge tests (the bundled data is tested separately)."""

from __future__ import annotations

from pathlib import Path

import pytest

CATEGORIES = """\
categories:
  - id: mall
    name: {ar: مجمع تجاري, en: Shopping mall}
    synonyms: {ar: [مول], en: [mall]}
    osm: [{shop: mall}]
  - id: landmark
    name: {ar: معلم, en: Landmark}
  - id: pharmacy
    name: {ar: صيدلية, en: Pharmacy}
"""

DISTRICTS = """\
districts:
  - id: al-hamra
    name: {ar: الحمراء, en: Al Hamra}
    source: test fixture
  - id: ash-shati
    name: {ar: الشاطئ, en: Ash Shati}
    source: test fixture
"""

SERVICES = """\
services:
  - id: report-940
    name: {ar: بلاغات 940, en: 940 reports}
    description: {ar: بلاغ, en: report}
    phone: "940"
    source: https://example.test/940
    last_verified: 2026-11-01
"""

PLACES = """\
places:
  - id: king-fahd-fountain
    name: {ar: نافورة الملك فهد, en: King Fahd's Fountain}
    aliases: {ar: [النافورة, نافورة جدة], en: [Jeddah Fountain, nafourat al malik fahad]}
    categories: [landmark]
    district: al-hamra
    location: {lat: 21.5150, lon: 39.1450}
    opening_hours: "Mo-Su 18:00-24:00"
    source: https://example.test/fountain
    last_verified: 2026-11-01
  - id: red-sea-mall
    name: {ar: رد سي مول, en: Red Sea Mall}
    aliases: {ar: [ريد سي مول, ريدسي مول], en: [redsea mall]}
    categories: [mall]
    district: ash-shati
    location: {lat: 21.6270, lon: 39.1110}
    phones: ["+966122345678"]
    opening_hours: "Sa-Th 10:00-24:00; Fr 16:00-24:00"
    ramadan_hours: "Mo-Su 20:00-03:00"
    source: [https://example.test/rsm]
    last_verified: 2026-11-01
  - id: mall-of-arabia
    name: {ar: مول العرب, en: Mall of Arabia}
    categories: [mall]
    location: {lat: 21.6330, lon: 39.1560}
    source: https://example.test/moa
    last_verified: 2026-11-01
  - id: al-balad
    name: {ar: البلد, en: Al-Balad}
    aliases: {en: [historic jeddah, balad]}
    categories: [landmark]
    district: al-hamra
    source: https://example.test/balad
    last_verified: 2026-11-01
"""


def write_data(root: Path, places: str = PLACES, extra: dict[str, str] | None = None) -> Path:
    """Write a data directory under ``root`` and return it."""
    data = root / "data"
    (data / "places").mkdir(parents=True)
    (data / "categories.yml").write_text(CATEGORIES, encoding="utf-8")
    (data / "districts.yml").write_text(DISTRICTS, encoding="utf-8")
    (data / "services.yml").write_text(SERVICES, encoding="utf-8")
    (data / "places" / "main.yml").write_text(places, encoding="utf-8")
    for name, content in (extra or {}).items():
        (data / "places" / name).write_text(content, encoding="utf-8")
    return data


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A valid data directory."""
    return write_data(tmp_path)
