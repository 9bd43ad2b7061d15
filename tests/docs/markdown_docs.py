"""Just enough Markdown for the documentation tests: headings, GitHub's anchors, links, tables, fences.

Not a Markdown parser: the docs are plain GitHub Markdown, and these helpers read only what the
tests check. Text inside fenced code blocks and inline code spans is never a link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) or ![alt](target), with an optional "title"; the text may hold one level of [...].
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)


class Line(NamedTuple):
    number: int  # 1-based
    text: str


class Fence(NamedTuple):
    info: str  # the info string after the opening fence: "sh tour"
    start: int  # the line number of the opening fence
    lines: list[str]


def prose_lines(text: str) -> Iterator[Line]:
    """The lines outside fenced code blocks."""
    closing: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        fence = _FENCE.match(line)
        if closing is None:
            if fence:
                closing = fence.group(1)
                continue
            yield Line(number, line)
        elif fence and fence.group(1).startswith(closing) and not fence.group(2).strip():
            closing = None


def fences(text: str) -> Iterator[Fence]:
    """Every fenced code block, with its info string and its lines (indentation as in the list item)."""
    current: Fence | None = None
    closing = ""
    for number, line in enumerate(text.splitlines(), 1):
        fence = _FENCE.match(line.lstrip() if current is None else line.strip())
        if current is None:
            if fence:
                closing, current = fence.group(1), Fence(fence.group(2).strip(), number, [])
        elif fence and fence.group(1).startswith(closing) and not fence.group(2).strip():
            yield current
            current = None
        else:
            current.lines.append(line)


def without_code_spans(line: str) -> str:
    return _CODE_SPAN.sub("", line)


def heading_text(markdown: str) -> str:
    """A heading as GitHub renders its text: code spans keep their text, links their label."""
    text = _CODE_SPAN.sub(lambda m: m.group(2), markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"<[^>]+>", "", text)


def slug(text: str) -> str:
    """GitHub's anchor for a heading's text: lower-cased, punctuation dropped (letters, digits, `_`
    and `-` stay, in any script), each space a '-'. Duplicates are numbered by `anchors`."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


class Heading(NamedTuple):
    level: int
    raw: str  # as written: "`autoenhance replay`"
    text: str  # as rendered: "autoenhance replay"
    anchor: str  # GitHub's, numbered when it repeats
    line: int


def headings(text: str) -> list[Heading]:
    found: list[Heading] = []
    seen: dict[str, int] = {}
    for number, line in prose_lines(text):
        match = _HEADING.match(line)
        if not match:
            continue
        rendered = heading_text(match.group(2))
        base = slug(rendered)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.append(
            Heading(len(match.group(1)), match.group(2), rendered, f"{base}-{count}" if count else base, number)
        )
    return found


def anchors(text: str) -> set[str]:
    """Every anchor a link into this page can name: its headings' and any explicit <a name/id>."""
    return {h.anchor for h in headings(text)} | {
        m.group(1) for _, line in prose_lines(text) for m in _HTML_ID.finditer(line)
    }


def links(text: str) -> Iterator[tuple[int, str]]:
    """(line number, target) of every inline link, image and reference definition outside code."""
    for number, line in prose_lines(text):
        definition = _REFERENCE_DEFINITION.match(line)
        if definition:
            yield number, definition.group(1)
            continue
        for match in _INLINE_LINK.finditer(without_code_spans(line)):
            yield number, match.group(1)


class TableRow(NamedTuple):
    page: Path
    line: int
    header: tuple[str, ...]  # the table's header cells, lower-cased
    cells: tuple[str, ...]
    above: tuple[Heading, ...]  # the page's headings above the row, in order


def _cells(line: str) -> tuple[str, ...]:
    inner = line.strip()
    inner = inner.removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return tuple(c.strip() for c in re.split(r"(?<!\\)\|", inner))


def table_rows(page: Path) -> Iterator[TableRow]:
    """Every body row of every pipe table on the page, with its header and the headings above it."""
    text = page.read_text(encoding="utf-8")
    all_headings = headings(text)
    header: tuple[str, ...] | None = None
    previous = ""
    for number, line in prose_lines(text):
        stripped = line.strip()
        if not stripped.startswith("|"):
            header, previous = None, stripped
            continue
        if header is None and re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?", stripped):
            header = tuple(c.lower() for c in _cells(previous))
        elif header is not None:
            above = tuple(h for h in all_headings if h.line < number)
            yield TableRow(page, number, header, _cells(stripped), above)
        previous = stripped


def owning_heading(above: tuple[Heading, ...], owns: Callable[[Heading], bool]) -> Heading | None:
    """The heading whose section holds what follows `above`, among those `owns` accepts: the nearest
    one above with no heading of its level or higher in between."""
    lowest = 7
    for h in reversed(above):
        if h.level < lowest:
            if owns(h):
                return h
            lowest = h.level
    return None


def first_code_span(cell: str) -> str | None:
    match = _CODE_SPAN.search(cell)
    return match.group(2).strip() if match else None
