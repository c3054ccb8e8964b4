"""The content editors' commands: lint, preview, stale, OSM import/export and the review queues.

``dalil kb lint|preview|stale|import osm|export geojson``, ``dalil feedback resolve`` and
``dalil unanswered [--since]``. They read the YAML under ``data/`` (the source of truth an editor is
changing), not the built index, so an edit shows before it is built or committed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.cards import Formatter
from bot.plain import render
from bot.records import Records
from bot.settings import Settings
from bot.texts import Texts
from bot.types import LocationPin, Reply, reply_to_dict
from bot.wiring import KnowledgeService
from knowledge.clock import make_clock, parse_moment
from knowledge.lint import lint
from knowledge.loader import Issue, load_knowledge
from knowledge.osm import dumps, from_osm, to_geojson, to_yaml
from knowledge.store import Store

__all__ = [
    "export_geojson",
    "group_questions",
    "import_osm",
    "import_synced",
    "lint_command",
    "preview",
    "resolve_feedback",
    "stale",
    "unanswered",
]

UNANSWERED_SIMILARITY = 70.0
"""rapidfuzz token-set ratio (0–100) on folded text at which two questions join one group."""


# --- kb lint ------------------------------------------------------------------------------------------


def _issue_dict(issue: Issue) -> dict[str, Any]:
    return asdict(issue)


def _issue_line(issue: Issue) -> str:
    return f"{issue.path}:{issue.line}: {issue.level}: {issue.field}: {issue.message}"


def lint_command(settings: Settings, args: argparse.Namespace) -> int:
    """Print every error and warning as ``file:line: level: field: message``; exit 1 only on errors."""
    report = lint(settings.data_dir, today=args.today or _today(settings))
    if args.json:
        print(
            json.dumps(
                {
                    "errors": len(report.errors),
                    "warnings": len(report.warnings),
                    "issues": [_issue_dict(i) for i in report.issues],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for issue in report.issues:
            print(_issue_line(issue))
        print(
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in "
            f"{len(report.result.kb.places)} places"
        )
    return 1 if report.errors else 0


# --- kb preview -----------------------------------------------------------------------------------------


def _now(settings: Settings, at: str | None) -> datetime:
    return parse_moment(at) if at else make_clock(settings.now)()


def _today(settings: Settings) -> date:
    return _now(settings, None).date()


def preview_replies(
    texts: Texts, store: Store, place_id: str, lang: str, now: datetime, eastern: bool = False
) -> list[Reply]:
    """The replies the bot sends for "tell me about PLACE" (as ``place_info`` does): the card and its pin."""
    place = store.get(place_id)
    if place is None:
        raise KeyError(place_id)
    fmt = Formatter(texts, store, lang, eastern)
    card = fmt.card(place, store.hours(place), now)
    replies: list[Reply] = [card]
    if place.location:
        replies.append(LocationPin(place.location.lat, place.location.lon, fmt.name(place), card.address))
    return replies


def preview(settings: Settings, args: argparse.Namespace) -> int:
    """Show the card for one place from the YAML as it is now; exit 1 when the place is missing or broken."""
    now = _now(settings, args.at)
    result = load_knowledge(settings.data_dir, today=now.date())
    own = [
        i for i in result.errors if f"(in {args.place_id})" in i.message or f"'{args.place_id}'" in i.message
    ]
    store = Store.from_knowledge(result.kb)
    if store.get(args.place_id) is None:
        for issue in own:
            print(issue, file=sys.stderr)
        if not own:
            ids = [p.id for p in result.kb.places]
            close = [match for match, _score, _i in process.extract(args.place_id, ids, limit=3)]
            print(f"no place {args.place_id!r}; did you mean: {', '.join(close)}?", file=sys.stderr)
        else:
            print(
                f"{args.place_id} has errors: the bot would not know it until they are fixed", file=sys.stderr
            )
        return 1
    texts = Texts.load(settings.data_dir / "responses")
    langs = [args.lang] if args.lang else ["ar", "en"]
    shown = {lang: preview_replies(texts, store, args.place_id, lang, now) for lang in langs}
    if args.json:
        payload = {lang: [reply_to_dict(r) for r in replies] for lang, replies in shown.items()}
        print(json.dumps({"at": now.isoformat(), **payload}, ensure_ascii=False, indent=2, default=str))
        return 0
    origin = result.kb.origin[args.place_id]
    print(f"# {args.place_id} from {origin.path}:{origin.line}, as of {now.isoformat(timespec='minutes')}")
    for lang, replies in shown.items():
        print(f"\n[{lang}]")
        print(render(replies)[0])
    return 0


# --- kb stale ---------------------------------------------------------------------------------------------


def stale(settings: Settings, args: argparse.Namespace) -> int:
    """Places not verified for ``--days``, the most asked about first, then the oldest."""
    today = _today(settings)
    result = load_knowledge(settings.data_dir, today=today)
    service = KnowledgeService(settings)
    asks = Records(service.engine).ask_counts()
    cutoff = today - timedelta(days=args.days)
    rows: list[dict[str, Any]] = [
        {
            "id": p.id,
            "name": p.name.ar,
            "last_verified": p.last_verified.isoformat(),
            "age_days": (today - p.last_verified).days,
            "asked": asks.get(p.id, 0),
            "where": f"{result.kb.origin[p.id].path}:{result.kb.origin[p.id].line}",
        }
        for p in result.kb.places
        if p.last_verified <= cutoff
    ]
    rows.sort(key=lambda r: (-r["asked"], -r["age_days"], r["id"]))
    rows = rows[: args.limit]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"nothing older than {args.days} days")
    for row in rows:
        print(f"{row['where']}: {row['id']} asked {row['asked']}×, verified {row['age_days']} days ago")
    return 0


# --- kb import / export -----------------------------------------------------------------------------------


def import_osm(settings: Settings, args: argparse.Namespace) -> int:
    """Write OSM elements as a new places file for review; existing records are never touched."""
    today = _today(settings)
    try:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    result = load_knowledge(settings.data_dir, today=today)
    try:
        imported = from_osm(doc, result.kb, today)
    except ValueError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    for skipped in imported.skipped:
        print(f"skipped {skipped.osm} {skipped.name}: {skipped.reason}")
    if not imported.records:
        print("nothing new to import")
        return 0
    out: Path = args.out or settings.data_dir / "places" / f"import-osm-{today:%Y%m%d}.yml"
    if out.exists():
        print(f"{out} exists: review and merge it first, or give --out", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_yaml(imported.records, Path(args.file).name), encoding="utf-8")
    print(f"wrote {len(imported.records)} place(s) to {out} for review; run `dalil kb lint` next")
    return 0


def import_synced(settings: Settings, args: argparse.Namespace) -> int:
    """Write places synced from open data as curated records for review (editors promote them).

    Once the file is merged, ``kb build`` links the synced element to the curated record (it cites the
    element as its source), so the place is served once, as curated.
    """
    store = KnowledgeService(settings).store()
    records: list[dict[str, Any]] = []
    for place_id in args.place_ids:
        place = store.get(place_id)
        if place is None or place.open_data is None:
            print(f"{place_id}: no synced place with this id (see `dalil kb search`)", file=sys.stderr)
            return 1
        record = place.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"open_data"})
        records.append(record)
    today = _today(settings)
    out: Path = args.out or settings.data_dir / "places" / f"import-synced-{today:%Y%m%d}.yml"
    if out.exists():
        print(f"{out} exists: review and merge it first, or give --out", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_yaml(records, "open-data layers synced by `dalil kb sync`"), encoding="utf-8")
    print(f"wrote {len(records)} place(s) to {out} for review; run `dalil kb lint` next")
    return 0


def export_geojson(settings: Settings, args: argparse.Namespace) -> int:
    """Places with coordinates as a GeoJSON FeatureCollection."""
    result = load_knowledge(settings.data_dir, today=_today(settings))
    text = dumps(to_geojson(result.kb.places))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# --- review queues ------------------------------------------------------------------------------------


def resolve_feedback(settings: Settings, args: argparse.Namespace) -> int:
    """Close one "this is wrong" report."""
    records = Records(KnowledgeService(settings).engine)
    if not records.resolve_feedback(args.feedback_id, args.note):
        print(f"no open feedback {args.feedback_id}", file=sys.stderr)
        return 1
    print(f"resolved feedback {args.feedback_id}: {args.note}")
    return 0


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    return parse_moment(value).astimezone(UTC)


def group_questions(rows: list[dict[str, Any]], fold: Any = str.casefold) -> list[dict[str, Any]]:
    """Group similar questions (rapidfuzz token-set ratio on folded text); biggest groups first."""
    groups: list[dict[str, Any]] = []
    keys: list[str] = []
    for row in rows:
        key = fold(str(row["text"]))
        found = process.extractOne(key, keys, scorer=fuzz.token_set_ratio, score_cutoff=UNANSWERED_SIMILARITY)
        if found is None:
            keys.append(key)
            groups.append({"text": row["text"], "count": 0, "examples": [], "intents": {}, "last": None})
            group = groups[-1]
        else:
            group = groups[found[2]]
        group["count"] += 1
        if row["text"] not in group["examples"] and len(group["examples"]) < 5:
            group["examples"].append(row["text"])
        intent = row.get("intent") or "?"
        group["intents"][intent] = group["intents"].get(intent, 0) + 1
        created = row.get("created_at")
        if created is not None and (group["last"] is None or str(created) > group["last"]):
            group["last"] = str(created)
    groups.sort(key=lambda g: (-g["count"], g["text"]))
    return groups


def unanswered(settings: Settings, args: argparse.Namespace) -> int:
    """Questions Dalil could not answer, grouped by similarity: what to add (places or phrasings)."""
    from nlu.normalize import fold  # Arabic-aware folding, so spelling variants group together

    records = Records(KnowledgeService(settings).engine)
    rows = records.unanswered_since(_since(args.since), limit=args.limit)
    groups = group_questions(rows, fold)
    if args.json:
        print(json.dumps(groups, ensure_ascii=False, indent=2))
        return 0
    if not groups:
        print("(none)")
    for group in groups:
        intents = ", ".join(f"{k} {v}" for k, v in sorted(group["intents"].items(), key=lambda kv: -kv[1]))
        print(f"{group['count']:>4}×  {group['text']}   [{intents}]")
        for example in group["examples"][1:]:
            print(f"       · {example}")
    return 0
