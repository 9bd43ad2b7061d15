"""The documentation holds together: its links resolve, and it documents exactly what exists.

- Every relative link and `#anchor` in README.md and docs/*.md resolves, by GitHub's anchor rules
  (lower-cased, punctuation dropped, spaces to '-', a repeated heading's anchor numbered -1, -2).
- Reference entries, one per thing, so a reader finds each in one place and a renamed or new option
  cannot go undocumented:
  - a command is documented by a heading whose text is `` `autoenhance COMMAND` `` (the top-level
    parser's own options under `` `autoenhance` ``), and each of its options and arguments by one
    row of an `| option | meaning |` table under that heading, the row's first cell starting with
    the option in backticks (`` `--out DIR` ``; an argument by its metavar, `` `PATH...` ``);
  - a variable the function reads by one row of a `| variable | default | meaning |` table, its
    first cell the name in backticks.
  The commands and options are read from `autoenhance.cli.build_parser()`, the variables from
  `handler.config.KNOWN_VARIABLES`: no list is kept by hand. Each must have exactly one entry across
  all pages, and no entry may name something that does not exist.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterator

import pytest
from markdown_docs import Heading, anchors, first_code_span, headings, links, owning_heading, slug, table_rows
from repo import ROOT

from autoenhance.cli import build_parser
from handler.config import KNOWN_VARIABLES

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXTERNAL = ("http://", "https://", "mailto:")
PROG = "autoenhance"


def test_the_pages_are_there() -> None:
    """The pages the README's table lists: a rename must update the README (and this list)."""
    names = {p.name for p in PAGES}
    for page in ("cli.md", "configuration.md", "how-it-works.md", "operations.md", "deploying.md", "testing.md",
                 "performance.md", "architecture.md", "tencent-cloud.md", "preview.md"):  # fmt: skip
        assert page in names, f"docs/{page} is missing"


@pytest.mark.parametrize(
    ("text", "anchor"),
    [
        ("Output names: two sources never share an output", "output-names-two-sources-never-share-an-output"),
        ("`autoenhance check-config`", "autoenhance-check-config"),
        ("SCF's runtimes", "scfs-runtimes"),
        (
            "Retries, message TTL, the rate cap and the pause switch",
            "retries-message-ttl-the-rate-cap-and-the-pause-switch",
        ),
        ("`serverless.yml`", "serverlessyml"),
        ("Usage data, the report's rate and the function's logs", "usage-data-the-reports-rate-and-the-functions-logs"),
        ("Rehearsing a deploy (`autoenhance rehearse`)", "rehearsing-a-deploy-autoenhance-rehearse"),
        ("What the fake MPS does with the bucket", "what-the-fake-mps-does-with-the-bucket"),
        ("A  double space", "a--double-space"),
        ("MPS_REGION and 假期", "mps_region-and-假期"),
    ],
)
def test_anchors_follow_githubs_rules(text: str, anchor: str) -> None:
    """The slug rules the link check relies on, on headings like the docs' own."""
    assert slug(text) == anchor


def test_repeated_headings_are_numbered_as_github_numbers_them() -> None:
    page = "# Notes\n## Example\ntext\n## Example\n## Example\n"
    assert [h.anchor for h in headings(page)] == ["notes", "example", "example-1", "example-2"]


def test_links_are_not_read_inside_code() -> None:
    page = "see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n[d]: d.md\n"
    assert [target for _, target in links(page)] == ["a.md", "d.md"]


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for page in PAGES:
        for line, target in links(page.read_text(encoding="utf-8")):
            if target.startswith(EXTERNAL) or not target:
                continue
            path, _, anchor = target.partition("#")
            destination = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}:{line}: {target}"
            if not destination.is_relative_to(ROOT):
                broken.append(f"{where}: outside the repository")
            elif not destination.exists():
                broken.append(f"{where}: no such file")
            elif anchor:
                if destination.suffix != ".md" or destination.is_dir():
                    broken.append(f"{where}: an anchor into a file that is not Markdown")
                elif anchor not in anchors(destination.read_text(encoding="utf-8")):
                    broken.append(f"{where}: no heading with that anchor in {destination.relative_to(ROOT)}")
    assert not broken, "broken links:\n" + "\n".join(broken)


# -- what exists ------------------------------------------------------------------------------------


def _commands(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(`autoenhance COMMAND ...`, its parser) for the parser and every subcommand, however deep."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # an alias names the same parser
                    seen.add(id(sub))
                    yield from _commands(sub, f"{path} {name}")


def _documented_names(action: argparse.Action) -> list[str] | None:
    """The names a row may give an option or argument, or None when it is not for users."""
    if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
        return None
    if action.option_strings:
        return list(action.option_strings)
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return [metavar]


def _cli() -> dict[str, dict[str, list[str]]]:
    """{command: {option key: the names it goes by}}; the key is its longest name."""
    found: dict[str, dict[str, list[str]]] = {}
    for command, parser in _commands(build_parser(), PROG):
        options = {}
        for action in parser._actions:
            names = _documented_names(action)
            if names:
                options[max(names, key=len)] = names
        found[command] = options
    return found


def test_the_parser_walk_finds_the_commands() -> None:
    """The walk itself: every command of `autoenhance --help`, and options under each."""
    cli = _cli()
    assert {"autoenhance replay", "autoenhance backfill", "autoenhance package"} <= set(cli)
    assert "--version" in cli[PROG] and "--live" in cli["autoenhance replay"] and "PATH" in cli["autoenhance replay"]
    assert "--interval" not in cli["autoenhance status"]  # suppressed from --help: not for users


# -- what the docs say ---------------------------------------------------------------------------------


def _command_named(heading: Heading) -> str | None:
    """The command a heading documents: its text is `autoenhance ...` in backticks, and only that."""
    name = first_code_span(heading.raw)
    if name is None or heading.raw.strip() != f"`{name}`":
        return None
    return name if name == PROG or name.startswith(PROG + " ") else None


def _command_headings() -> dict[str, list[str]]:
    """{command: [page:line of each heading that documents it]}."""
    found: dict[str, list[str]] = defaultdict(list)
    for page in PAGES:
        for h in headings(page.read_text(encoding="utf-8")):
            command = _command_named(h)
            if command is not None:
                found[command].append(f"{page.relative_to(ROOT)}:{h.line}")
    return found


def _option_rows() -> Iterator[tuple[str | None, str, str]]:
    """(the command whose section holds the row, the option's first word, page:line) of every
    `| option | meaning |` row."""
    for page in PAGES:
        for row in table_rows(page):
            if row.header[:1] != ("option",):
                continue
            owner = owning_heading(row.above, lambda h: _command_named(h) is not None)
            name = (first_code_span(row.cells[0]) or row.cells[0]).split()[0].removesuffix("...")
            yield (_command_named(owner) if owner else None), name, f"{page.relative_to(ROOT)}:{row.line}"


def test_every_command_has_exactly_one_heading() -> None:
    cli = _cli()
    documented = _command_headings()
    problems = [f"{c}: no heading `{c}` in README.md or docs/" for c in cli if c not in documented]
    problems += [f"{c}: {len(w)} headings ({', '.join(w)}); keep one" for c, w in documented.items() if len(w) > 1]
    problems += [
        f"{c}: documented at {', '.join(w)}, but there is no such command"
        for c, w in documented.items()
        if c not in cli
    ]
    assert not problems, "\n".join(problems)


def test_every_option_has_exactly_one_row() -> None:
    cli = _cli()
    rows: dict[tuple[str, str], list[str]] = defaultdict(list)
    problems = []
    for command, name, where in _option_rows():
        key = next((k for k, names in cli.get(command or "", {}).items() if name in names), None)
        if command is None:
            problems.append(f"{where}: option row {name!r} under no `autoenhance ...` heading")
        elif key is None:
            problems.append(f"{where}: `{command}` has no option or argument {name!r}")
        else:
            rows[command, key].append(where)
    for command, options in cli.items():
        for key in options:
            where = rows.get((command, key), [])
            if not where:
                problems.append(f"`{command} {key}`: no row in an `| option | meaning |` table under its heading")
            elif len(where) > 1:
                problems.append(f"`{command} {key}`: {len(where)} rows ({', '.join(where)}); keep one")
    assert not problems, "\n".join(problems)


def test_every_variable_has_exactly_one_row() -> None:
    rows: dict[str, list[str]] = defaultdict(list)
    for page in PAGES:
        for row in table_rows(page):
            if row.header[:2] == ("variable", "default"):
                rows[first_code_span(row.cells[0]) or row.cells[0]].append(f"{page.relative_to(ROOT)}:{row.line}")
    problems = [f"{v}: no row in a `| variable | default | meaning |` table" for v in KNOWN_VARIABLES if v not in rows]
    problems += [f"{v}: {len(w)} rows ({', '.join(w)}); keep one" for v, w in rows.items() if len(w) > 1]
    problems += [f"{v}: documented at {', '.join(w)}, but the function reads no such variable" for v, w in rows.items()
                 if v not in KNOWN_VARIABLES]  # fmt: skip
    assert not problems, "\n".join(problems)
