"""The NLU engines by name: ``embedded`` (default) and ``rasa``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knowledge.store import Store
from nlu.embedded import EmbeddedParser
from nlu.rasa_http import RasaHttpParser
from nlu.types import Parser

__all__ = ["NLU_ENGINES", "EngineConfig", "make_parser"]


@dataclass(frozen=True)
class EngineConfig:
    """What an engine may need to start."""

    store: Store
    nlu_dir: Path
    model_dir: Path
    rasa_url: str = "http://127.0.0.1:5005"
    timeout_s: float = 2.0


def _embedded(config: EngineConfig) -> Parser:
    return EmbeddedParser.from_data(config.store, config.nlu_dir, config.model_dir)


def _rasa(config: EngineConfig) -> Parser:
    return RasaHttpParser(config.rasa_url, config.timeout_s)


NLU_ENGINES: dict[str, Callable[[EngineConfig], Parser]] = {"embedded": _embedded, "rasa": _rasa}


def make_parser(name: str, config: EngineConfig) -> Parser:
    """The engine registered as ``name``.

    Raises:
        ValueError: no engine has that name.
    """
    try:
        factory = NLU_ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown NLU engine {name!r}; choose one of {', '.join(NLU_ENGINES)}") from None
    return factory(config)
