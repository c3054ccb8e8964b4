"""Read NLU training data in Rasa 3 YAML format (``data/nlu/*.yml``).

Supported, as Rasa reads them: ``intent`` blocks with ``examples``; entity annotations
``[text](entity)``, ``[text](entity:value)`` and ``[text]{"entity": "...", "value": "..."}``;
``synonym`` and ``lookup`` blocks. Problems are reported as ``file:line: message`` like the knowledge
loader, and a bad example never stops the rest from loading.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

__all__ = ["Annotation", "Example", "TrainingData", "data_files", "load_training_data", "parse_example"]

GROUP_LINES = 25
"""Consecutive examples of a block that form one validation group."""
_ANNOTATION = re.compile(r"\[(?P<text>[^\]\[]+)\](?:\((?P<short>[^)(]+)\)|(?P<json>\{[^{}]*\}))")


@dataclass(frozen=True)
class Annotation:
    """An entity in a training example, with offsets into the plain text."""

    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Example:
    """One training sentence: plain text (markup removed), its intent and entities."""

    text: str
    intent: str
    entities: tuple[Annotation, ...] = ()
    source: str = ""
    group: str = ""
    """Neighbouring lines of one block (``file#block/chunk``): paraphrases of each other, or one
    out-of-scope domain. Validation keeps a group on one side, so it measures unseen phrasing."""


@dataclass
class TrainingData:
    """Everything read from one or more Rasa NLU files."""

    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)
    """surface text → canonical value"""
    lookups: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    digest: str = ""

    def intents(self) -> list[str]:
        """The intents that have examples, sorted."""
        return sorted({e.intent for e in self.examples})


def parse_example(line: str) -> tuple[str, tuple[Annotation, ...]]:
    """Strip Rasa entity markup from one example, returning the plain text and its annotations.

    Raises:
        ValueError: a JSON annotation is malformed or names no entity.
    """
    out: list[str] = []
    entities: list[Annotation] = []
    position = 0
    length = 0
    for match in _ANNOTATION.finditer(line):
        before = line[position : match.start()]
        out.append(before)
        length += len(before)
        surface = match.group("text")
        if match.group("json"):
            spec = json.loads(match.group("json"))
            if not isinstance(spec, dict) or "entity" not in spec:
                raise ValueError(f"annotation {match.group(0)!r} names no entity")
            entity, value = str(spec["entity"]), str(spec.get("value", surface))
        else:
            entity, _, value = match.group("short").partition(":")
            value = value or surface
        entities.append(Annotation(entity.strip(), value.strip(), length, length + len(surface)))
        out.append(surface)
        length += len(surface)
        position = match.end()
    out.append(line[position:])
    return "".join(out), tuple(entities)


def _lines(block: object) -> list[str]:
    if not isinstance(block, str):
        return []
    return [ln.strip()[2:].strip() for ln in block.splitlines() if ln.strip().startswith("- ")]


def data_files(path: Path | str) -> list[Path]:
    """The YAML files under ``path`` (a file or a directory; ``test/`` sub-folders are not training data)."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.yml") if p.is_file()) + sorted(
        p for p in path.glob("*.yaml") if p.is_file()
    )


def load_training_data(paths: Iterable[Path]) -> TrainingData:
    """Read Rasa NLU YAML files into one :class:`TrainingData`."""
    data = TrainingData()
    digest = hashlib.sha256()
    for path in sorted(paths):
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw)
        try:
            doc = YAML(typ="rt").load(raw)
        except MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else 1
            data.problems.append(f"{path}:{line}: {exc.problem}")
            continue
        if not isinstance(doc, CommentedMap) or not isinstance(doc.get("nlu"), CommentedSeq):
            if isinstance(doc, CommentedMap) and "nlu" not in doc:
                continue  # a Rasa domain or stories file: not NLU data
            data.problems.append(f"{path}:1: expected a top-level 'nlu:' list")
            continue
        blocks: CommentedSeq = doc["nlu"]
        for index, block in enumerate(blocks):
            line = blocks.lc.item(index)[0] + 1
            if not isinstance(block, CommentedMap):
                data.problems.append(f"{path}:{line}: each nlu item must be a mapping")
                continue
            examples = _lines(block.get("examples"))
            if "intent" in block:
                for offset, text in enumerate(examples):
                    try:
                        plain, entities = parse_example(text)
                    except (ValueError, json.JSONDecodeError) as exc:
                        data.problems.append(f"{path}:{line + offset + 2}: {exc}")
                        continue
                    group = f"{path.name}#{index}/{offset // GROUP_LINES}"
                    data.examples.append(
                        Example(plain, str(block["intent"]), entities, f"{path}:{line + offset + 2}", group)
                    )
            elif "synonym" in block:
                for text in examples:
                    data.synonyms[text] = str(block["synonym"])
            elif "lookup" in block:
                data.lookups.setdefault(str(block["lookup"]), []).extend(examples)
    data.digest = digest.hexdigest()
    return data
