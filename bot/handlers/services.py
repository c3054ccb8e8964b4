"""Municipal services and guided problem reports."""

from __future__ import annotations

import re

from bot import actions
from bot.records import new_reference
from bot.state import ReportDraft
from bot.turn import Turn
from bot.types import Button, Choice, Choices, InfoCard, Reply, RequestLocation, TextReply
from knowledge.schema import Service

__all__ = ["continue_report", "municipal_service", "report_issue", "service_card"]

_CANCEL = re.compile(r"^\s*(?:الغاء|إلغاء|الغ|كنسل|cancel|stop|خلاص)\s*$", re.IGNORECASE)
_SKIP = re.compile(r"^\s*(?:لا|no|skip|تخطي|ما ابي|ما ابغى|ما عندي|nope)\s*[.!]*\s*$", re.IGNORECASE)
_HOW = re.compile(r"\b(?:كيف|وشلون|طريقة|طريقه|how)\b", re.IGNORECASE)
_MIN_DESCRIPTION_WORDS = 2
_WHERE = re.compile(
    r"(?:(?<!\w)(?:شارع|طريق|حي|دوار|جنب|عند|قدام|قريب من)(?:\s+[^\s،,.؟?]+){1,4})"
    r"|(?:\b(?:on|in|near|at)\s+(?:the\s+)?[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*(?:\s+(?:street|road|district))?)"
    r"|(?:\b[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)*\s+(?:[Ss]treet|[Rr]oad|[Dd]istrict)\b)",
)
# Words that only say "I want to report a problem"; what is left describes the problem itself.
_GENERIC = frozenset(
    [
        "ابغى",
        "ابغي",
        "ابي",
        "ابا",
        "اريد",
        "ودي",
        "ابلغ",
        "بلغ",
        "بلاغ",
        "ارفع",
        "اقدم",
        "قدم",
        "اسوي",
        "سوي",
        "عن",
        "مشكله",
        "مشكلة",
        "شكوى",
        "عندي",
        "فيه",
        "لو",
        "سمحت",
        "i",
        "i'd",
        "want",
        "to",
        "like",
        "would",
        "please",
        "report",
        "a",
        "an",
        "the",
        "problem",
        "issue",
        "complaint",
        "about",
        "file",
        "make",
        "there",
        "is",
    ]
)


def _fold(word: str) -> str:
    return word.translate(str.maketrans("أإآة", "اااه"))


def service_card(turn: Turn, service: Service) -> list[Reply]:
    """What the service is and how to get it, with the link and phone (its name is the card's title)."""
    name = service.name.ar if turn.lang == "ar" else service.name.en
    steps = service.how_to.ar if turn.lang == "ar" else service.how_to.en
    lines = [service.description.pick(turn.lang)]
    if steps:
        lines.append(turn.t("service_how"))
        lines += [f"{i}. {step}" for i, step in enumerate(steps, 1)]
    if service.phone:
        lines.append(turn.t("service_phone", phone=service.phone))
    if service.url:
        lines.append(turn.t("service_url", url=service.url))
    buttons: list[Button] = []
    if service.phone:
        buttons.append(Button(turn.t("button_call"), phone=service.phone))
    if service.url:
        buttons.append(Button(turn.t("button_website"), url=service.url))
    return [InfoCard(name, tuple(lines), tuple(buttons))]


def _service_list(turn: Turn, key: str) -> list[Reply]:
    services = list(turn.store.services.values())[:10]
    options = tuple(
        Choice((s.name.ar if turn.lang == "ar" else s.name.en)[:72], actions.service(s.id)) for s in services
    )
    return (
        [Choices(turn.t(key), options, turn.t("choose_prompt"))] if options else [turn.text("out_of_scope")]
    )


def municipal_service(turn: Turn) -> list[Reply]:
    """The named service, or the list of services to pick from."""
    service_id = turn.parse.first("service")
    service = turn.store.services.get(service_id.value) if service_id else None
    if service is None:
        return _service_list(turn, "service_which")
    return service_card(turn, service)


def report_issue(turn: Turn) -> list[Reply]:
    """Start a guided report: what, where, an optional photo; then store it with a reference."""
    if turn.parse.first("service") is not None and _HOW.search(turn.incoming.text):
        return municipal_service(turn)  # "how do I file a 940 report?" asks about the service itself
    words = [w for w in re.findall(r"[\w']+", turn.incoming.text.lower()) if _fold(w) not in _GENERIC]
    draft: dict[str, object] = {
        "what": None,
        "where": None,
        "lat": None,
        "lon": None,
        "attachment": turn.incoming.attachment,
    }
    if len(words) >= _MIN_DESCRIPTION_WORDS:
        draft["what"] = (turn.story or turn.incoming.text).strip()
    if turn.incoming.location is not None:
        draft["lat"], draft["lon"] = turn.incoming.location.lat, turn.incoming.location.lon
    where = _where_said(turn)
    draft["where"] = where
    turn.state.pending = ReportDraft(draft)
    # Where to report officially comes first; logging it with Dalil is the extra.
    official = turn.t("report_official")
    if where:
        official += "\n" + turn.t("report_where_noted", where=where)
    return [TextReply(official), *_next_report_step(turn)]


def _where_said(turn: Turn) -> str | None:
    """The place a report names already (a street, landmark or district), so it is not asked again."""
    said = [e.text for e in turn.parse.entities if e.entity in ("place", "district") and e.text]
    match = _WHERE.search(turn.incoming.text)
    if match and (not said or all(s in match.group(0) for s in said)):
        return match.group(0).strip()  # "عند دوار الطيارة" says more than the entity "دوار" in it
    if said:
        return "، ".join(dict.fromkeys(said)) if turn.lang == "ar" else ", ".join(dict.fromkeys(said))
    return match.group(0).strip() if match else None


def _next_report_step(turn: Turn) -> list[Reply]:
    report = turn.state.pending
    if not isinstance(report, ReportDraft):  # pragma: no cover - only called inside a report
        return []
    draft = report.draft
    if not draft["what"]:
        report.step = "what"
        return [turn.text("report_ask_what")]
    if draft["lat"] is None and not draft["where"]:
        report.step = "where"
        return [RequestLocation(turn.t("report_ask_where"), turn.t("share_location_button"))]
    if not draft["attachment"] and report.step != "photo":
        report.step = "photo"
        return [turn.text("report_ask_photo")]
    ref = new_reference("R")
    turn.later(
        turn.services.records.add_report,
        turn.sender,
        str(draft["what"]),
        draft["where"],
        draft["lat"],
        draft["lon"],
        draft["attachment"],
        turn.lang,
        ref,
    )
    turn.state.pending = None
    return [turn.text("report_saved", ref=ref)]


def continue_report(turn: Turn) -> list[Reply]:
    """The next message inside a report: the answer to the step we asked, or a cancel."""
    pending = turn.state.pending
    if not isinstance(pending, ReportDraft):  # pragma: no cover - only called inside a report
        return []
    text = turn.incoming.text.strip()
    if text and _CANCEL.match(text):
        turn.state.pending = None
        return [turn.text("report_cancelled")]
    draft, step = pending.draft, pending.step
    if turn.incoming.location is not None:
        draft["lat"], draft["lon"] = turn.incoming.location.lat, turn.incoming.location.lon
    if turn.incoming.attachment:
        draft["attachment"] = turn.incoming.attachment
    if step == "what" and text:
        draft["what"] = text
    elif step == "where" and text and turn.incoming.location is None:
        draft["where"] = text
    elif step == "photo" and text and not _SKIP.match(text) and not turn.incoming.attachment:
        draft["what"] = f"{draft['what']}\n{text}"  # more detail instead of a photo: keep it
    return _next_report_step(turn)
