"""The review queues: ``dalil handoff|feedback|reports|unanswered|undelivered …``."""

from __future__ import annotations

from typing import Any

from bot import chat_commands, editor_commands

__all__ = ["QUEUES", "register"]

QUEUES = {
    "handoff": "hand-off requests",
    "feedback": '"this is wrong" reports',
    "reports": "problem reports",
    "unanswered": "questions Dalil could not answer",
    "undelivered": "answers a channel could not deliver",
}
"""Queue command → what it holds."""


def register(commands: Any) -> None:
    """Add one command per queue, each with ``list`` and its own actions."""
    for name, what in QUEUES.items():
        review = commands.add_parser(name, help=f"review {what}")
        actions = review.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help=f"list {what}")
        listing.add_argument("--json", action="store_true")
        listing.add_argument("--all", action="store_true", help="include closed ones")
        listing.add_argument("--limit", type=int, default=100)
        listing.set_defaults(run=chat_commands.queue)
        if name == "handoff":
            release = actions.add_parser("release", help="resume automatic answers for that user")
            release.add_argument("ref")
            release.set_defaults(run=chat_commands.queue)
        if name == "feedback":
            resolve = actions.add_parser("resolve", help="close a report with what was done")
            resolve.add_argument("feedback_id", metavar="ID", type=int)
            resolve.add_argument("--note", default="fixed", help="what was done (default: fixed)")
            resolve.set_defaults(run=editor_commands.resolve_feedback)
        if name == "unanswered":
            # Plain `dalil unanswered` groups similar questions: what to add (places or phrasings).
            actions.required = False
            for parser in (review, listing):
                parser.add_argument("--since", help="only questions from this day or ISO time on")
                parser.set_defaults(run=editor_commands.unanswered)
            review.add_argument("--json", action="store_true", help="groups as JSON")
            review.add_argument("--limit", type=int, default=1000, help="how many questions to read")
