"""What the container gives the function besides the event: time, sleep, randomness, environment, stdout.

The function never reaches for `time`, `random` or `os.environ` itself: it is handed a
`Runtime`, so a test can run a whole invocation on an injected clock (a deadline test then
proves the deadline, not the machine's speed) and the CLI can run it in a patched environment.

SCF never interrupts a function, so `stopping` never says yes there; the CLI hands in its Ctrl-C.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from typing import Callable, NamedTuple, TextIO


def _never() -> bool:
    return False


class Runtime(NamedTuple):
    environ: Mapping[str, str] = os.environ
    stream: TextIO | None = None  # None: sys.stdout, looked up at each write (so redirects apply)
    clock: Callable[[], float] = time.monotonic  # deadlines and latencies
    sleep: Callable[[float], None] = time.sleep  # backoff between attempts
    rand: Callable[[], float] = random.random  # backoff jitter
    wall_clock: Callable[[], float] = time.time  # Unix time, to age an upload against its eventTime
    stopping: Callable[[], bool] = _never  # once true, no call starts (calls in flight end as they would)
