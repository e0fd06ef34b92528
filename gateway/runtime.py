"""The serving process's garbage collector, tuned for many open WebSockets.

With 15,000 live subscriptions a gateway process holds millions of objects, and a full
collection of CPython's cyclic garbage collector walks all of them: the measured fan-out
tail at 30,000 subscribers over 2 processes was 1.1-4.4 s with the defaults and 216-239 ms
tuned as below (bench/README.md). Reference counting still frees almost everything at once;
the cyclic collector only finds cycles, and tuned it does so less often:

- ``gc.freeze()`` once the process has started: what start-up made (modules, the schema,
  settings) lives as long as the process and is never scanned again;
- collect the youngest generation every 50,000 allocations instead of 700, and the oldest
  one after 100 middle collections instead of 10.

``PLANGRUPPE_GC=python`` keeps CPython's defaults.
"""

from __future__ import annotations

import gc

from gateway.settings import ConfigError

TUNED_THRESHOLDS = (50_000, 20, 100)
MODES = ("tuned", "python")


def tune_gc(mode: str) -> tuple[int, int, int]:
    """Apply ``mode`` (``tuned`` or ``python``); returns the thresholds now in force."""
    if mode not in MODES:
        raise ConfigError(f"PLANGRUPPE_GC must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "tuned":
        gc.collect()
        gc.freeze()
        gc.set_threshold(*TUNED_THRESHOLDS)
    first, second, third = gc.get_threshold()
    return first, second, third
