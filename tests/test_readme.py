"""The README's newcomer path works as printed: its commands parse, its REST example is a valid request."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from bot.cli import build_parser
from connectors.rest import RestMessage

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
LINES = [line.strip() for block in SHELL_BLOCKS for line in block.replace("\\\n", " ").splitlines()]
DALIL_COMMANDS = [line for line in LINES if line.startswith("uv run dalil ")]


def test_uv_is_put_on_the_path_before_the_first_uv_command() -> None:
    export = next(i for i, line in enumerate(LINES) if line == 'export PATH="$HOME/.local/bin:$PATH"')
    first_uv = next(i for i, line in enumerate(LINES) if line.startswith("uv "))
    assert export < first_uv


@pytest.mark.parametrize("command", DALIL_COMMANDS)
def test_every_dalil_command_in_the_readme_parses(command: str) -> None:
    argv = shlex.split(command, comments=True)[3:]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on a bad command line
        pytest.fail(f"{command!r} does not parse: exit {exc.code}")


def test_the_rest_example_sends_a_location_in_metadata() -> None:
    bodies = [json.loads(b) for b in re.findall(r"-d '(\{.*?\})'", README)]
    assert bodies, "the README shows a curl example for the REST channel"
    with_location = [RestMessage.model_validate(b) for b in bodies if "metadata" in b]
    assert with_location
    location = with_location[0].metadata.location if with_location[0].metadata else None
    assert location is not None
    assert (location.lat, location.lon) == (21.5433, 39.1728)
    assert any("/webhooks/rest/webhook" in line for line in LINES if line.startswith("curl"))
