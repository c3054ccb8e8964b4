"""Pydantic models of Dalil's knowledge: places, categories, districts and municipal services.

The YAML files under ``data/`` are validated against these models by :mod:`knowledge.loader`; the JSON
Schema that editors' tools use (``dalil kb schema``) is generated from them, so a field documented here
is documented for editors too.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from knowledge.hours import check_expression

__all__ = [
    "JEDDAH_BBOX",
    "Aliases",
    "Attributes",
    "Category",
    "District",
    "Localized",
    "Location",
    "Name",
    "OpenData",
    "Place",
    "PlaceStatus",
    "Service",
    "ServiceSteps",
    "SpecialHours",
]

# Jeddah Governorate with a margin: Al-Khumrah in the south to Obhur and the airport in the north,
# the coast in the west to the eastern districts. A point outside is almost always a swapped lat/lon
# or a typo in a digit.
JEDDAH_BBOX = {"lat_min": 21.0, "lat_max": 22.1, "lon_min": 38.9, "lon_max": 39.5}

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


def _e164(phone: str) -> str:
    if not E164.match(phone):
        raise ValueError(f"{phone!r} is not E.164 (write +966 and the number without its leading 0)")
    return phone


Phone = Annotated[str, AfterValidator(_e164), Field(description="E.164, e.g. +966126000000")]
Id = Annotated[str, Field(pattern=ID_PATTERN, description="kebab-case id, e.g. red-sea-mall")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Name(_Model):
    """A name in both languages; both are required."""

    ar: str = Field(min_length=1, description="Arabic name")
    en: str = Field(min_length=1, description="English name")


class Localized(_Model):
    """Free text in Arabic and/or English; at least one must be given."""

    ar: str | None = Field(default=None, min_length=1)
    en: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_language(self) -> Localized:
        if self.ar is None and self.en is None:
            raise ValueError("give the text in ar, en or both")
        return self

    def pick(self, lang: str) -> str:
        """The text in ``lang``, falling back to the other language."""
        first, second = (self.ar, self.en) if lang == "ar" else (self.en, self.ar)
        return first or second or ""


class Aliases(_Model):
    """Other ways people write a name: short forms, misspellings, English and Arabizi."""

    ar: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list, description="English and Arabizi forms")

    def all(self) -> list[tuple[str, str]]:
        """Every alias as ``(lang, text)``."""
        return [("ar", a) for a in self.ar] + [("en", a) for a in self.en]


class Location(_Model):
    """WGS84 coordinates; must lie inside Jeddah's bounding box."""

    lat: float = Field(description="latitude, decimal degrees")
    lon: float = Field(description="longitude, decimal degrees")

    @model_validator(mode="after")
    def _inside_jeddah(self) -> Location:
        box = JEDDAH_BBOX
        if not (
            box["lat_min"] <= self.lat <= box["lat_max"] and box["lon_min"] <= self.lon <= box["lon_max"]
        ):
            raise ValueError(
                f"({self.lat}, {self.lon}) is outside Jeddah's bounding box "
                f"(lat {box['lat_min']}–{box['lat_max']}, lon {box['lon_min']}–{box['lon_max']}); "
                "are lat and lon swapped?"
            )
        return self


def _check_hours(value: str | None) -> str | None:
    if value is None:
        return None
    message = check_expression(value)
    if message is not None:
        raise ValueError(f"not valid OpenStreetMap opening_hours:\n{message}")
    return value


class SpecialHours(_Model):
    """Dated hours that override the regular and Ramadan hours (holidays, closures, events)."""

    start: date = Field(alias="from", description="first day, inclusive")
    end: date = Field(alias="to", description="last day, inclusive")
    hours: str = Field(description='opening_hours expression for those days, e.g. "off" or "16:00-23:00"')
    note: Localized | None = None

    _hours = field_validator("hours")(_check_hours)

    @model_validator(mode="after")
    def _ordered(self) -> SpecialHours:
        if self.end < self.start:
            raise ValueError(f"'to' ({self.end}) is before 'from' ({self.start})")
        return self


class Attributes(_Model):
    """Local and accessibility attributes; leave one out when no source states it."""

    family_section: bool | None = Field(default=None, description="has a family section")
    prayer_room: bool | None = Field(default=None, description="has a prayer room (musalla)")
    parking: bool | None = None
    wheelchair: Literal["yes", "limited", "no"] | None = None
    cuisine: list[Id] = Field(
        default_factory=list, description="for places that serve food, e.g. [seafood, mandi, indian]"
    )
    free_entry: bool | None = Field(default=None, description="entry is free of charge")
    womens_section: bool | None = Field(default=None, description="has a section for women")

    @field_validator("wheelchair", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Sourced(_Model):
    source: list[str] = Field(
        min_length=1, description="where the facts come from: URLs or references (a single string is fine)"
    )
    last_verified: date = Field(description="the day an editor last checked the facts against the source")

    _source = field_validator("source", mode="before")(_as_list)

    @field_validator("source")
    @classmethod
    def _non_empty_sources(cls, value: list[str]) -> list[str]:
        if any(not s.strip() for s in value):
            raise ValueError("a source is empty")
        return value


class PlaceStatus(_Model):
    """Whether a place still operates; a closed place is never offered as open or nearest."""

    state: Literal["operating", "temporarily_closed", "permanently_closed"] = Field(
        description="operating, temporarily_closed (give until when, if known) or permanently_closed"
    )
    since: date | None = Field(default=None, description="the day it closed, if a source states it")
    until: date | None = Field(default=None, description="temporarily_closed: announced reopening day")
    note: Localized | None = None
    source: list[str] = Field(min_length=1, description="where the closure is stated")

    _source = field_validator("source", mode="before")(_as_list)

    @model_validator(mode="after")
    def _dates(self) -> PlaceStatus:
        if self.until is not None and self.state != "temporarily_closed":
            raise ValueError("'until' only applies to temporarily_closed")
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError(f"'until' ({self.until}) is before 'since' ({self.since})")
        return self


class OpenData(_Model):
    """Where a place from an open-data layer came from; set by ``kb build``, never written in YAML."""

    layers: list[Literal["osm", "overture"]] = Field(min_length=1, description="the layers it came from")
    refs: list[str] = Field(min_length=1, description='element ids, e.g. "osm:node/123", "overture:08f…"')
    attribution: list[str] = Field(min_length=1, description='e.g. "© OpenStreetMap contributors"')
    fetched_at: str = Field(description="when the snapshot was fetched (ISO time)")
    provenance: dict[str, str] = Field(
        default_factory=dict, description='field → layer it came from, e.g. {"phones": "overture"}'
    )
    unnamed: bool = Field(default=False, description="no name of its own: found by kind and distance only")
    hours_text: str | None = Field(
        default=None, description="opening_hours as listed but not parseable: shown, never used for open now"
    )
    confidence: float | None = Field(default=None, description="Overture's existence confidence, 0–1")


class Place(_Sourced):
    """A place people ask about: a landmark, mall, hospital, office or beach."""

    id: Id
    name: Name
    aliases: Aliases = Field(default_factory=Aliases)
    categories: list[Id] = Field(min_length=1, description="category ids; the first is the primary one")
    district: Id | None = Field(default=None, description="district id from data/districts.yml")
    location: Location | None = None
    address: Localized | None = None
    phones: list[Phone] = Field(default_factory=list)
    website: str | None = None
    email: str | None = None
    opening_hours: str | None = Field(default=None, description="OpenStreetMap opening_hours syntax")
    ramadan_hours: str | None = Field(default=None, description="hours during Ramadan, same syntax")
    special_hours: list[SpecialHours] = Field(default_factory=list)
    attributes: Attributes = Field(default_factory=Attributes)
    status: PlaceStatus | None = Field(default=None, description="leave out while the place operates")
    description: Localized | None = None
    tags: list[Id] = Field(default_factory=list)
    open_data: SkipJsonSchema[OpenData | None] = Field(
        default=None, description="set by `dalil kb build` for places synced from open data; never in YAML"
    )

    _hours = field_validator("opening_hours", "ramadan_hours")(_check_hours)

    @field_validator("website")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+\.[^\s]+$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @property
    def primary_category(self) -> str:
        """The first category id."""
        return self.categories[0]


class Category(_Model):
    """A kind of place, mapped to OpenStreetMap tags."""

    id: Id
    name: Name
    synonyms: Aliases = Field(default_factory=Aliases, description="how people ask for it")
    osm: list[dict[str, str]] = Field(
        default_factory=list,
        description='OSM tag sets that mean this category, e.g. {amenity: pharmacy}; "*" = any',
    )


class District(_Model):
    """One of Jeddah's districts (ahya')."""

    id: Id
    name: Name
    name_full_ar: str | None = Field(default=None, description='official Arabic name with "حي"')
    national_id: str | None = Field(default=None, description="national address district id")
    aliases: Aliases = Field(default_factory=Aliases)
    centroid: Location | None = Field(
        default=None, description='the district\'s reference point for "near ..."; only from a cited source'
    )
    centroid_source: str | None = Field(
        default=None,
        description="where the centroid comes from: record URL with commit (`dalil kb geo-import` writes it)",
    )
    source: list[str] = Field(min_length=1)

    _source = field_validator("source", mode="before")(_as_list)


class ServiceSteps(_Model):
    """How-to steps in both languages."""

    ar: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)


class Service(_Sourced):
    """A municipal service residents ask about: reports, permits, licences, appointments."""

    id: Id
    name: Name
    aliases: Aliases = Field(default_factory=Aliases)
    description: Localized
    how_to: ServiceSteps = Field(default_factory=ServiceSteps)
    channels: list[Literal["phone", "app", "web", "whatsapp", "in-person", "email"]] = Field(
        default_factory=list
    )
    url: str | None = None
    phone: str | None = Field(default=None, description='E.164 or a short code such as "940"')

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not (E164.match(value) or re.match(r"^\d{3,6}$", value)):
            raise ValueError(f"{value!r} is neither E.164 nor a short code")
        return value
