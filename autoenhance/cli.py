"""`autoenhance`: try the function on a laptop, before and after deploying it.

Exit codes: 0 success, 1 when any record failed (or the task failed), 2 usage/configuration.

This file assembles the commands (one module each in autoenhance/commands/) into one parser and
turns the errors they share into messages and exit codes.
"""

from __future__ import annotations

import argparse
import os
import sys

from handler.config import ConfigurationError

from .commands import backfill, check_config, generate_event, package, replay, status
from .commands.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
from .event_files import EventFileError
from .local.credentials import MissingCredentialsError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]

COMMANDS = (replay, generate_event, check_config, status, backfill, package)  # in the order --help lists them
EXIT_BROKEN_PIPE = 141  # as a shell reports SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autoenhance", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (UsageError, EventFileError, MissingCredentialsError, ConfigurationError) as exc:
        print(f"autoenhance {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `autoenhance replay ... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
