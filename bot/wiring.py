"""Builds Dalil's parts from settings; the one place that decides which implementation serves."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from bot.settings import Settings
from knowledge.loader import LoadResult, load_knowledge
from knowledge.opendata import MergeResult, read_snapshots, with_open_data
from knowledge.store import BuildInfo, IndexMissingError, Store, build_index, make_engine
from nlu.engines import EngineConfig
from nlu.engines import make_parser as make_engine_parser
from nlu.normalize import fold
from nlu.types import Parser

__all__ = ["BuildRefusedError", "KnowledgeService", "make_parser", "nlu_dir"]

log = logging.getLogger(__name__)


class BuildRefusedError(RuntimeError):
    """The data has errors, so no new index was built; the old one keeps serving."""

    def __init__(self, result: LoadResult) -> None:
        """Keep the load result so callers can show every error."""
        super().__init__(f"{len(result.errors)} error(s) in the data; the index was not rebuilt")
        self.result = result


class KnowledgeService:
    """The knowledge index of one database: build it, load it, rebuild it."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        """Connect to the configured database (lazily: nothing is read until asked)."""
        self.settings = settings
        self.engine = engine if engine is not None else make_engine(settings.database_url)
        self.last_merge = MergeResult()
        """How the open-data layers merged in the last :meth:`build`."""

    def validate(self) -> LoadResult:
        """Load the YAML and report every problem."""
        return load_knowledge(self.settings.data_dir)

    def build(self) -> tuple[LoadResult, BuildInfo]:
        """Validate, merge the open-data snapshots in, then build a new index and make it current.

        The returned result's knowledge holds the curated and the synced places.

        Raises:
            BuildRefusedError: the data has errors; nothing changed.
            SnapshotError: a snapshot is unreadable; nothing changed.
        """
        result = self.validate()
        if result.errors:
            raise BuildRefusedError(result)
        kb, self.last_merge = with_open_data(
            result.kb,
            read_snapshots(self.settings.opendata_dir),
            self.settings.data_dir / "overture_categories.yml",
            self.settings.opendata_min_confidence,
            fold,
        )
        return replace(result, kb=kb), build_index(kb, self.engine, fold)

    def store(self, build_if_missing: bool = True) -> Store:
        """The current index, built first when none exists yet."""
        try:
            return Store.load(self.engine, fold)
        except IndexMissingError:
            if not build_if_missing:
                raise
            log.info("kb_index_missing_building")
            self.build()
            return Store.load(self.engine, fold)


def nlu_dir(settings: Settings) -> Path:
    """The Rasa-format NLU data directory."""
    return settings.data_dir / "nlu"


def make_parser(settings: Settings, store: Store) -> Parser:
    """The configured NLU engine (``DALIL_NLU_ENGINE``), ready to parse."""
    config = EngineConfig(store, nlu_dir(settings), settings.model_dir, settings.rasa_url)
    return make_engine_parser(settings.nlu_engine, config)
