"""The project's one pair of time helpers: `format_time` writes a time, `parse_time` reads one.

Times are Unix seconds (float) inside the code and ISO 8601 UTC (`2026-12-07T14:31:14.000Z`) in
log lines, events, fakes and reports. `parse_time` accepts exactly the times `format_time` can
write, 0001-01-01 to 9999-12-31 UTC, and returns None for anything else: an event whose
`eventTime` is the year 10000 is a bad field, not a crash. Nothing here depends on the platform's
`time_t` (negative epochs work everywhere).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
EARLIEST = (_dt.datetime(1, 1, 1, tzinfo=_dt.timezone.utc) - _EPOCH).total_seconds()  # 0001-01-01T00:00:00Z
LATEST = (_dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=_dt.timezone.utc) - _EPOCH).total_seconds()

# `units="auto"`: an epoch number this large is taken to be in ms, us or ns (CLS writes milliseconds,
# and what SCF_LogTime holds is not documented). The first limit is the year 5138 in seconds.
_SCALES = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))
_MAX_DIGITS = 19  # longer digit strings are no time (and int() refuses very long ones)


def format_time(seconds: float, *, ms: bool = True) -> str:
    """`seconds` as ISO 8601 UTC with a `Z`: to the millisecond (as CLS, COS and the log lines write
    times), or to the second (`ms=False`, as MPS writes CreateTime). Raises ValueError outside
    EARLIEST..LATEST: a time that came through `parse_time` never is."""
    ms_total = round(seconds * 1000) if ms else round(seconds) * 1000  # raises on nan and infinities
    if not ms and ms_total > LATEST * 1000 >= seconds * 1000:
        ms_total -= 1000  # the last second of 9999 does not round up into the year 10000
    if not (EARLIEST * 1000 <= ms_total <= LATEST * 1000):
        raise ValueError(f"time {seconds!r} is outside 0001-01-01..9999-12-31")
    t = _EPOCH + _dt.timedelta(milliseconds=ms_total)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond // 1000:03d}Z" if ms else f"{text}Z"


def parse_time(value: Any, *, units: str = "s") -> float | None:
    """Unix seconds from an epoch number (or a string of digits) or an ISO 8601 string (naive = UTC).

    `units="s"`: numbers are seconds (COS's eventTime). `units="auto"`: numbers beyond the year
    5138 in seconds are read as ms, us or ns (log exports). None for anything that is not a time
    between EARLIEST and LATEST: booleans, empty strings, nan, infinities, other text.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            if len(text) > _MAX_DIGITS:
                return None
            value = int(text)
        else:
            return _parse_iso(text)
    if not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and abs(value) > 10**_MAX_DIGITS:
        return None  # float() of a huge int overflows
    number = float(value)
    if not math.isfinite(number):
        return None
    if units == "auto":
        number = next((number / scale for limit, scale in _SCALES if number >= limit), number)
    return number if EARLIEST <= number <= LATEST else None


def _parse_iso(text: str) -> float | None:
    if not text or len(text) > 64:
        return None
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    try:
        seconds = (parsed - _EPOCH).total_seconds()
    except OverflowError:
        return None
    return seconds if EARLIEST <= seconds <= LATEST else None
