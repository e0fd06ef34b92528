"""The committed SDL is what the code prints, and it carries the contract's names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema import print_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text()
    assert committed == print_sdl(), "run: plangruppe schema > schema/schema.graphql"


def test_cli_prints_the_same_schema() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "schema"], capture_output=True, text=True, check=True
    )
    assert out.stdout == print_sdl()
