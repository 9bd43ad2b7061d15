"""`autoenhance`: try the function on a laptop, before and after deploying it.

Exit codes: 0 success, 1 when any record failed (or the task failed), 2 usage/configuration.

This file assembles the commands (one module each in autoenhance/commands/) into one parser and
turns the errors they share into messages and exit codes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from handler.errors import ConfigurationError

from .commands import (
    backfill,
    check_config,
    check_deploy,
    generate_event,
    package,
    preview,
    rehearse,
    replay,
    report,
    status,
    usage,
)
from .commands.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
from .deploy_config import ProjectError
from .event_files import EventFileError
from .local.credentials import MissingCredentialsError
from .local.preflight import UnreachableError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]

COMMANDS = (
    replay,
    generate_event,
    check_config,
    check_deploy,
    status,
    preview,
    report,
    usage,
    backfill,
    package,
    rehearse,
)  # in the order --help lists them
EXIT_BROKEN_PIPE = 141  # as a shell reports SIGPIPE
DISTRIBUTION = "mps-autoenhance"  # [project] name in pyproject.toml


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors also say which command or option a typo probably meant."""

    def error(self, message: str) -> NoReturn:
        super().error(message + _did_you_mean(message, self))

    def unrecognized(self, extras: Sequence[str]) -> NoReturn:
        """argparse's 'unrecognized arguments' error, from the parser of the command they were given to."""
        self.error(f"unrecognized arguments: {' '.join(extras)}")


def _did_you_mean(message: str, parser: argparse.ArgumentParser) -> str:
    import difflib

    def closest(word: str, candidates: Iterable[str]) -> str | None:
        found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
        return found[0] if found else None

    choice = re.search(r"invalid choice: '?([^'\s]*)'? \(choose from (.*)\)", message)
    if choice:
        options = [c.strip().strip("'\"") for c in choice.group(2).split(",")]
        best = closest(choice.group(1), options)
        return f" (did you mean {best}?)" if best else ""
    if message.startswith("unrecognized arguments: "):
        known = [s for a in parser._actions if a.help != argparse.SUPPRESS for s in a.option_strings]
        hints = []
        for word in message[len("unrecognized arguments: ") :].split():
            best = closest(word.split("=", 1)[0], known) if word.startswith("-") else None
            if best:
                hints.append(f"{word}: did you mean {best}?")
        return f" ({'; '.join(hints)})" if hints else ""
    return ""


class _Version(argparse.Action):
    """--version, read from the installed distribution only when asked (keeps --help quick)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = f"{parser.prog} {version(DISTRIBUTION)}"
        except PackageNotFoundError:
            text = f"{parser.prog}: version unknown ({DISTRIBUTION} is not installed; pip install -e .)"
        print(text)  # on stdout, as argparse's own version action prints
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autoenhance", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--version", action=_Version, help="show the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args, extras = parser.parse_known_args(argv)
    if extras:  # reported by the command's own parser: its usage line, and its options to suggest
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        target = commands.choices.get(args.command, parser)
        if isinstance(target, _Parser):
            target.unrecognized(extras)
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(build_parser(), argv)
    try:
        return int(args.run(args))
    except (
        UsageError,
        EventFileError,
        MissingCredentialsError,
        ConfigurationError,
        UnreachableError,
        ProjectError,
    ) as exc:
        print(f"autoenhance {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `autoenhance replay ... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
