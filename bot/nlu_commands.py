"""``dalil nlu train|evaluate`` and ``dalil parse``: the NLU from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.settings import Settings
from bot.wiring import KnowledgeService, make_parser, nlu_dir
from knowledge.store import Store
from nlu.classifier import train_intent_model
from nlu.embedded import EmbeddedParser, ensure_model, gazetteer_for, training_texts
from nlu.evaluate import cross_validate, evaluate
from nlu.training_data import Example, TrainingData, data_files, load_training_data
from nlu.types import Parse

__all__ = ["blind_sets", "evaluate_command", "parse_command", "train_command"]


def train_command(settings: Settings, args: argparse.Namespace) -> int:
    """Train the embedded model unless one already matches the data."""
    store = KnowledgeService(settings).store()
    data = load_training_data(data_files(nlu_dir(settings)))
    gazetteer = gazetteer_for(store, data)
    result = ensure_model(nlu_dir(settings), settings.model_dir, gazetteer, force=args.force)
    state = f"trained in {result.seconds:.2f} s" if result.trained else "up to date (data unchanged)"
    print(f"{result.path}: {state}; {len(result.model.classes)} intents")
    return 0


def _held_out(settings: Settings, data: Path | None) -> list[Example]:
    paths = data_files(data) if data else data_files(nlu_dir(settings) / "test")
    return load_training_data(paths).examples


def evaluate_command(settings: Settings, args: argparse.Namespace) -> int:
    """Evaluate on the held-out file (default) or by k-fold cross-validation of the training data."""
    store = KnowledgeService(settings).store()
    train = load_training_data(data_files(nlu_dir(settings)))
    if args.cv:
        gazetteer = gazetteer_for(store, train)
        arabizi = train.lookups.get("arabizi_marker", ())

        def make(examples: Sequence[Example]) -> Callable[[str], Parse]:
            subset = TrainingData(examples=list(examples))
            texts, labels = training_texts(subset, gazetteer)
            model = train_intent_model(texts, labels, digest="cv")
            return EmbeddedParser(model, gazetteer, arabizi).parse

        report = cross_validate(train.examples, make, folds=args.cv)
    elif getattr(args, "blind", False):
        return _blind(settings, store, args)
    else:
        examples = _held_out(settings, args.data)
        if not examples:
            print("no examples to evaluate", file=sys.stderr)
            return 1
        report = evaluate(make_parser(settings, store).parse, examples)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.format())
    return 0


def blind_sets(folder: Path) -> dict[str, list[Example]]:
    """The blind sets under ``folder``: each sub-folder is a set, each file in it a variety."""
    return {
        sub.name: load_training_data(data_files(sub)).examples
        for sub in sorted(p for p in folder.iterdir() if p.is_dir())
        if data_files(sub)
    }


def _blind(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    sets = blind_sets(args.data or nlu_dir(settings) / "blind")
    if not any(sets.values()):
        print("no blind sets found", file=sys.stderr)
        return 1
    parse = make_parser(settings, store).parse
    reports = {name: evaluate(parse, examples, entity_match="span") for name, examples in sets.items()}
    if args.json:
        print(json.dumps({k: r.to_dict() for k, r in reports.items()}, ensure_ascii=False, indent=2))
        return 0
    for name, report in reports.items():
        print(f"=== blind set {name} ===\n{report.format()}\n")
    return 0


def parse_command(settings: Settings, args: argparse.Namespace) -> int:
    """Print the parse of one message."""
    store = KnowledgeService(settings).store()
    result = make_parser(settings, store).parse(args.text)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"intent: {result.intent.name} ({result.intent.confidence:.2f})   lang: {result.lang}")
    for entity in result.entities:
        span = f"[{entity.start}:{entity.end}] {entity.text!r}"
        print(f"  {entity.entity}: {entity.value}  {span} ({entity.confidence:.2f})")
    return 0
