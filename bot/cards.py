"""Place facts as people read them: open/closed lines, hour ranges, distances and the full place card."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from urllib.parse import quote_plus

from bot import actions
from bot.texts import Texts, eastern_digits, isolate
from bot.types import Button, GeoPoint, PlaceCard
from knowledge.hours import DayHours, Hours, HoursState, Layer, Status
from knowledge.opendata import LAYERS
from knowledge.schema import Place
from knowledge.store import Store

__all__ = ["Formatter", "map_search_near_url", "map_search_url", "map_urls"]

CLOSING_SOON = timedelta(minutes=45)


def map_urls(lat: float, lon: float) -> tuple[str, str]:
    """Google Maps and OpenStreetMap links for a point."""
    google = f"https://www.google.com/maps/search/?api=1&query={lat:.6f}%2C{lon:.6f}"
    osm = f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"
    return google, osm


def map_search_near_url(kind: str, lat: float, lon: float) -> str:
    """A Google Maps search for a kind of place around a point (when none of that kind is on file)."""
    return f"https://www.google.com/maps/search/?api=1&query={quote_plus(f'{kind} near {lat:.5f},{lon:.5f}')}"


def map_search_url(name: str) -> str:
    """A Google Maps search for a place by name in Jeddah (when no exact pin is on file)."""
    return f"https://www.google.com/maps/search/?api=1&query={quote_plus(f'{name} Jeddah')}"


class Formatter:
    """Formats facts in one language, for one person (their digits)."""

    def __init__(self, texts: Texts, store: Store, lang: str, eastern: bool = False) -> None:
        """Format for ``lang``; ``eastern`` switches numbers to Arabic-Indic digits."""
        self.texts = texts
        self.store = store
        self.lang = lang
        self.eastern = eastern and lang == "ar"

    def t(self, key: str, **values: object) -> str:
        """A response text, with the person's digits."""
        text = self.texts.get(self.lang, key, **values)
        return eastern_digits(text) if self.eastern else text

    def name(self, place: Place) -> str:
        """The place's name in the conversation's language."""
        return place.name.ar if self.lang == "ar" else place.name.en

    def clock(self, value: time | datetime) -> str:
        """12-hour clock time: "9:30 PM" / "9:30 م"."""
        hour, minute = value.hour, value.minute
        suffix = self.texts.raw(self.lang, "pm" if hour >= 12 else "am")
        return f"{hour % 12 or 12}:{minute:02d} {suffix}"

    def day_name(self, moment: datetime, now: datetime) -> str:
        """Today, tomorrow or the weekday name."""
        delta = (moment.date() - now.date()).days
        if delta == 0:
            return str(self.texts.raw(self.lang, "today"))
        if delta == 1:
            return str(self.texts.raw(self.lang, "tomorrow"))
        return str(self.texts.raw(self.lang, "weekdays")[moment.weekday()])

    def on_day(self, moment: datetime, now: datetime) -> str:
        """The day as it reads inside a sentence: "today", "tomorrow", "on Friday" / "يوم الجمعة"."""
        delta = (moment.date() - now.date()).days
        weekday = str(self.texts.raw(self.lang, "weekdays")[moment.weekday()])
        if delta in (0, 1):  # "tomorrow (Friday)": the day asked about is named back
            return self.t("relative_day", day=self.day_name(moment, now), weekday=weekday)
        return self.t("on_day", day=self.day_name(moment, now))

    def ranges(self, day: DayHours) -> str:
        """One day's hours as text: "10:00 AM–12:00 AM, 4:00 PM–11:00 PM", "closed", "24 hours"."""
        if day.status_all_day is Status.CLOSED:
            return self.t("ranges_closed")
        if day.status_all_day is Status.UNKNOWN or (not day.ranges and day.status_all_day is None):
            return self.t("ranges_unknown")
        if len(day.ranges) == 1 and day.ranges[0][0] == time(0, 0) and day.ranges[0][1] == time(0, 0):
            return self.t("ranges_open_24h")
        text = "، ".join if self.lang == "ar" else ", ".join
        joined = text(f"{self.clock(a)}–{self.clock(b)}" for a, b in day.ranges)
        return eastern_digits(joined) if self.eastern else joined

    def status(self, state: HoursState, now: datetime) -> str:
        """The open/closed line: "Open now · closes at 11:00 PM", "Closed · opens tomorrow at 10:00 AM"."""
        if state.status is Status.UNKNOWN:
            return self.t("hours_unknown_short")
        if state.status is Status.OPEN:
            if state.always_open:
                line = self.t("open_24_7")
            elif state.closes_at is None:
                line = self.t("open_no_close")
            elif state.closes_at.date() > now.date() and state.closes_at.hour >= 6:
                line = self.t("open_closes_tomorrow", time=self.clock(state.closes_at))
            elif state.closes_at - now <= CLOSING_SOON:
                line = self.t("open_closes_soon", time=self.clock(state.closes_at))
            else:
                line = self.t("open_closes_at", time=self.clock(state.closes_at))
        elif state.opens_at is None:
            line = self.t("closed_no_open")
        else:
            delta = (state.opens_at.date() - now.date()).days
            key = {0: "closed_opens_today", 1: "closed_opens_tomorrow"}.get(delta, "closed_opens_day")
            line = self.t(key, time=self.clock(state.opens_at), day=self.day_name(state.opens_at, now))
        if state.layer is Layer.RAMADAN:
            line += " " + self.t("ramadan_layer")
        elif state.layer is Layer.SPECIAL:
            note = state.note.get(self.lang) if state.note else None
            line += " " + self.t("special_layer", note=f": {note}" if note else "")
        return line

    def distance(self, metres: float) -> str:
        """A distance as "350 m" or "2.4 km"."""
        if metres < 1000:
            return self.t("distance_m", n=f"{round(metres / 10) * 10:.0f}")
        return self.t("distance_km", n=f"{metres / 1000:.1f}")

    def district(self, place: Place) -> str | None:
        """The place's district name, if known."""
        district = self.store.districts.get(place.district) if place.district else None
        if district is None:
            return None
        return district.name.ar if self.lang == "ar" else district.name.en

    def closure(self, place: Place) -> str | None:
        """The closure line ("Closed permanently since …", "Temporarily closed until …"); None if open."""
        status = place.status
        if status is None or status.state == "operating":
            return None
        if status.state == "permanently_closed":
            key = "closed_permanently_since" if status.since else "closed_permanently"
            return self.t(key, since=status.since.isoformat() if status.since else "")
        key = "closed_temporarily_until" if status.until else "closed_temporarily"
        return self.t(key, until=status.until.isoformat() if status.until else "")

    def provenance(self, place: Place) -> str:
        """Where the facts come from: the editors' check date, or the open-data source and attribution."""
        if place.open_data is None:
            return self.t("card_verified", date=place.last_verified.isoformat())
        titles = " + ".join(LAYERS[layer].title for layer in place.open_data.layers)
        return self.t("card_open_data", sources=titles, attribution="; ".join(place.open_data.attribution))

    def list_attribution(self, places: Iterable[Place]) -> str | None:
        """The attribution line a list needs when some of its places come from open data."""
        attributions = [a for p in places if p.open_data for a in p.open_data.attribution]
        if not attributions:
            return None
        return self.t("list_open_data", attribution="; ".join(dict.fromkeys(attributions)))

    def card(self, place: Place, hours: Hours, now: datetime) -> PlaceCard:
        """The place card: status, district, address, phone, website, today's hours, map, checked date."""
        lines: list[str] = []
        closure = self.closure(place)
        if closure is not None:
            lines.append(closure)
            hours = Hours(None)
        elif hours.known:
            lines.append(self.status(hours.state(now), now))
        district = self.district(place)
        if district:
            lines.append(self.t("card_district", district=district))
        if place.address:
            lines.append(self.t("card_address", address=place.address.pick(self.lang)))
        if place.phones:
            lines.append(self.t("card_phone", phone=" / ".join(isolate(p) for p in place.phones)))
        if place.website:
            lines.append(self.t("card_website", website=place.website))
        listed = place.open_data.hours_text if place.open_data else None
        if hours.known:
            lines.append(self.t("card_hours_today", ranges=self.ranges(hours.day(now.date()))))
        elif closure is None and listed:
            lines.append(self.t("card_hours_listed", hours=listed))  # shown as listed, never as "open now"
        elif closure is None:
            lines.append(self.t("hours_unknown_short"))
        buttons: list[Button] = []
        if place.phones:
            buttons.append(Button(self.t("button_call"), phone=place.phones[0]))
        if place.website:
            buttons.append(Button(self.t("button_website"), url=place.website))
        location = None
        if place.location:
            google, _osm = map_urls(place.location.lat, place.location.lon)
            lines.append(self.t("card_map", url=google))
            buttons.append(Button(self.t("button_map"), url=google))
            location = GeoPoint(place.location.lat, place.location.lon)
        else:
            search = map_search_url(self.name(place) if self.lang == "ar" else place.name.en)
            lines.append(self.t("card_map_search", url=search))
            buttons.append(Button(self.t("button_map"), url=search))
        if hours.known:
            buttons.append(Button(self.t("button_hours"), payload=actions.hours(place.id)))
        buttons.append(Button(self.t("button_wrong"), payload=actions.wrong(place.id)))
        lines.append(self.provenance(place))
        address = place.address.pick(self.lang) if place.address else None
        return PlaceCard(place.id, self.name(place), tuple(lines), tuple(buttons), location, address)
