"""``dalil nlu train|evaluate``: the embedded NLU model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot import nlu_commands

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``dalil nlu`` and its sub-commands."""
    nlu = commands.add_parser("nlu", help="NLU model: train, evaluate")
    sub = nlu.add_subparsers(dest="nlu_command", required=True, metavar="NLU_COMMAND")
    train = sub.add_parser("train", help="train the embedded model (only when the data changed)")
    train.add_argument("--force", action="store_true", help="train even if a matching model exists")
    train.set_defaults(run=nlu_commands.train_command)
    evaluate = sub.add_parser("evaluate", help="accuracy, macro-F1, per-intent report, entity P/R")
    evaluate.add_argument("--data", type=Path, help="a Rasa NLU file or folder (default: data/nlu/test)")
    evaluate.add_argument(
        "--cv", type=int, metavar="K", help="k-fold cross-validation on the training data instead"
    )
    evaluate.add_argument(
        "--blind",
        action="store_true",
        help="the frozen blind sets instead (data/nlu/blind/<set>/<variety>.yml, or --data FOLDER): "
        "per set and per variety, entities by span and type",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=nlu_commands.evaluate_command)
