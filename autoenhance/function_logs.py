"""The function's records, read back from the logs that hold them (for `autoenhance report` and `usage`).

Logs come as files, directories of them or stdin, gzip or not (`log_records`), and a record as the
function wrote it sits in one of these shapes, each read whole:

- a whole line (`replay`'s stderr, SCF's stdout), or several records joined on one line (`scf logs`
  joins SCF_Message values without a separator);
- the same after a leading time stamp and request id, as `scf logs` and the console show lines;
- the whole value of a CLS entry's message field (`SCF_Message`, `__CONTENT__`, `LogJson`, ...),
  the entry being a JSON line (a CLS export, a saved SearchLog answer, at any depth), a cell of a
  CSV export line, or the `"LogJson": "..."` line of a pretty-printed SearchLog answer.

Whether a text is a record is decided by the function's own reader, `read_record`
(handler/results.py), on the whole text: never on an object found inside other text. An uploader
chooses their key, and the function's error logs quote it (a traceback's last line, say): a key
spelling a record must stay a key, not become a record, someone else's key in the resubmit list.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

from handler.results import LogRecord, read_record
from handler.times import parse_time

# The fields of a CLS entry that hold the function's line (SCF_Message: SCF's log field;
# __CONTENT__: CLS's single-line text; LogJson: the SearchLog API's), and those that time it.
MESSAGE_FIELDS = ("SCF_Message", "__CONTENT__", "LogJson", "content", "Content", "message", "msg")
TIME_FIELDS = ("SCF_LogTime", "__TIMESTAMP__", "Time", "timestamp", "@timestamp", "time")
_MAX_DEPTH = 4  # entries inside entries (a SearchLog answer's LogJson holding SCF_Message)
_DECODER = json.JSONDecoder()
# `scf logs` and the console: "2026-01-01T00:00:01.500Z<TAB>request-id<TAB>" before the line.
_LEADING_TIME = re.compile(
    r"\s*(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))\s+(?:[\w-]+\s+)?"
)
_PRETTY_MESSAGE = re.compile(
    r'\s*"(' + "|".join(map(re.escape, MESSAGE_FIELDS)) + r')"\s*:\s*("(?:[^"\\]|\\.)*")\s*,?\s*'
)
GZIP_MAGIC = b"\x1f\x8b"
# The longest line read: a CLS SearchLog answer saved on one line holds up to 1,000 entries of a few
# KB. Longer is no log; reading it whole would let a small gzip (one long line) take gigabytes.
MAX_LINE_CHARS = 16 * 1024 * 1024


class UnreadableLog(ValueError):
    """A log file that cannot be read as one: the message names the file and the line."""


class LoggedRecord(NamedTuple):
    """One record found in the logs, and where."""

    record: LogRecord
    source: str  # file:line
    logged_at: float | None  # the time stamp of what wraps the line (a CLS entry, a prefix), Unix seconds


def log_records(paths: Sequence[str], stdin: IO[bytes] | None = None) -> Iterator[LoggedRecord]:
    """Every record in `paths` (files, directories of them, '-' for stdin; gzip by content), in order."""
    for path in expand_paths(paths):
        with open_log(path, stdin) as text:
            for number, line in enumerate(_bounded_lines(text, path), 1):
                for record, logged_at in records_in_line(line):
                    yield LoggedRecord(record, f"{path}:{number}", logged_at)


def _bounded_lines(text: IO[str], path: str) -> Iterator[str]:
    """The lines of `text`, refusing one longer than MAX_LINE_CHARS before it is in memory whole."""
    number = 0
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise UnreadableLog(
                f"{path}:{number}: a line of more than {MAX_LINE_CHARS // (1024 * 1024)} MiB characters: not a log "
                "line the function or CLS writes (split the file, or give the log it came from)"
            )
        yield line


def expand_paths(paths: Sequence[str]) -> list[str]:
    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            out.extend(str(p) for p in sorted(Path(path).iterdir()) if p.is_file())
        else:
            out.append(path)
    return out


def check_paths(paths: Sequence[str]) -> str | None:
    """Why `paths` cannot be read, before anything is asked (None: they can)."""
    for path in paths:
        if path == "-":
            continue
        if not os.path.exists(path):
            return f"{path}: no such file"
        if not os.access(path, os.R_OK):
            return f"{path}: cannot read: permission denied"
    return None


@contextlib.contextmanager
def open_log(path: str, stdin: IO[bytes] | None = None) -> Iterator[IO[str]]:
    """A log file as text lines: gzip recognised by its magic bytes whatever its name, bad bytes replaced."""
    raw: Any
    if path == "-":
        raw = stdin if stdin is not None else sys.stdin.buffer
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)
        magic = raw.peek(2)[:2]
    else:
        raw = open(path, "rb")  # noqa: SIM115  (closed below)
        magic = raw.read(2)
        raw.seek(0)
    text = io.TextIOWrapper(
        gzip.GzipFile(fileobj=raw) if magic == GZIP_MAGIC else raw, encoding="utf-8", errors="replace"
    )
    try:
        yield text
    finally:
        if path == "-":
            text.detach()  # leave stdin open
        else:
            text.close()


def records_in_line(line: str) -> Iterator[tuple[LogRecord, float | None]]:
    """The function's records in one line of a log, with the time stamp of what wraps them."""
    yield from _records_in_text(line, None, 0)


def _records_in_text(text: str, logged_at: float | None, depth: int) -> Iterator[tuple[LogRecord, float | None]]:
    """`text` read whole: records, entries holding them, or a CSV or pretty-printed line of entries."""
    if depth > _MAX_DEPTH:
        return
    prefix = _LEADING_TIME.match(text)
    if prefix:
        stamp = parse_time(prefix.group(1), units="auto")
        logged_at = logged_at if logged_at is not None else stamp
        text = text[prefix.end() :]
    text = text.strip()
    if text.startswith(("{", "[")):
        for value, whole in _json_values(text):
            record = read_record(whole) if isinstance(value, dict) else None
            if record is not None:
                yield record, logged_at
            else:
                yield from _records_in_entries(value, logged_at, depth)
    elif '"' in text:
        pretty = _PRETTY_MESSAGE.fullmatch(text)
        if pretty:
            try:
                message = json.loads(pretty.group(2))
            except ValueError:
                return
            yield from _records_in_text(message, logged_at, depth + 1)
            return
        for cell in _csv_cells(text) or ():
            yield from _records_in_text(cell, logged_at, depth + 1)


def _json_values(text: str) -> list[tuple[Any, str]]:
    """The JSON values `text` consists of, each with its own text; none unless they make up all of it."""
    values = []
    at = 0
    while at < len(text):
        try:
            value, end = _DECODER.raw_decode(text, at)
        except (ValueError, RecursionError):
            return []
        values.append((value, text[at:end]))
        at = end
        while at < len(text) and text[at].isspace():
            at += 1
    return values


def _records_in_entries(value: Any, logged_at: float | None, depth: int) -> Iterator[tuple[LogRecord, float | None]]:
    """Records in the message fields of the CLS entries `value` holds (an entry, a list, an API answer)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            yield from _records_in_entries(item, logged_at, depth + 1)
        return
    if not isinstance(value, dict):
        return
    stamp = next((parse_time(value[k], units="auto") for k in TIME_FIELDS if k in value), None)
    stamp = stamp if stamp is not None else logged_at
    for name in [k for k in MESSAGE_FIELDS if k in value] + [k for k in value if k not in MESSAGE_FIELDS]:
        inner = value[name]
        if name in MESSAGE_FIELDS and isinstance(inner, str):
            yield from _records_in_text(inner, stamp, depth + 1)
        elif isinstance(inner, (dict, list)):
            yield from _records_in_entries(inner, stamp, depth + 1)


def _csv_cells(line: str) -> list[str] | None:
    """The cells of a CSV export's line, or None when `line` is not one.

    Every cell must be quoted, or be a number or a time stamp: split at the commas of any other
    text, a traceback quoting a crafted key would give a cell of the key's choosing.
    """
    try:
        cells = next(csv.reader([line], strict=True))
    except (csv.Error, StopIteration):
        return None
    at = 0
    for n, cell in enumerate(cells):
        if n:
            if line[at : at + 1] != ",":
                return None
            at += 1
        quoted = '"' + cell.replace('"', '""') + '"'
        if line.startswith(quoted, at):
            at += len(quoted)
        elif line.startswith(cell, at) and (not cell or parse_time(cell, units="auto") is not None):
            at += len(cell)
        else:
            return None
    return cells if at == len(line) else None
