"""gateway/runtime.py: the serving process's garbage collector (PLANGRUPPE_GC)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from gateway.runtime import TUNED_THRESHOLDS, tune_gc
from gateway.settings import ConfigError


def test_tuned_freezes_what_exists_and_collects_less_often() -> None:
    before = gc.get_threshold()
    try:
        assert tune_gc("tuned") == TUNED_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert tune_gc("python") == TUNED_THRESHOLDS  # "python" changes nothing itself
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_an_unknown_mode_is_refused_before_anything_changes() -> None:
    before = gc.get_threshold()
    with pytest.raises(ConfigError, match="PLANGRUPPE_GC"):
        tune_gc("off")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_serve_stops_with_exit_2_on_a_bad_gc_mode() -> None:
    env = {**os.environ, "PLANGRUPPE_GC": "sometimes"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "PLANGRUPPE_GC must be one of tuned, python" in done.stderr
