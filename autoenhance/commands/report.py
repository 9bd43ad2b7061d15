"""`autoenhance report`: what became of each upload, from the function's logs and MPS's task results.

Arguments, the choice between the embedded fake MPS and --live, and how rows and the summary are
printed (text, --json, --csv). The engine (rows, state, resubmit lists) is the package
`autoenhance/report/`; the logs are read by `autoenhance/function_logs.py` and MPS asked by
`autoenhance/mps_queries.py`.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from handler.log import printable

from ..function_logs import UnreadableLog, check_paths, log_records
from ..local.credentials import environment_credentials
from ..local.interrupt import CtrlC
from ..mps_queries import DEFAULT_RATE, MpsQueries
from ..report import ReportError
from ..report.engine import DEFAULT_WORKERS, ReportRun
from ..report.resubmit import ResubmitFile, ResubmitLists, backfill_command
from ..report.rows import COLUMNS, FAILED, PENDING, SUCCESS, UploadRow
from ..report.state import StateFile
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    mps_region,
    mps_target,
    print_json,
    require_writable,
    settings,
)

LIVE_STATE = "autoenhance-report.state.jsonl"  # in the working directory, with --live
DEMO_STATE = "report.state.jsonl"  # in the embedded fakes' state directory, without
RESUBMIT_NAME = "resubmit.txt"  # next to the state file unless --resubmit-list
PROGRESS_EVERY = 0.2  # seconds between progress line updates on a terminal


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "report",
        help="what became of each upload: the function's logs against MPS's task results",
        description="Read the function's JSON log lines (CLS exports, scf logs output, replay's stderr; "
        "other lines are ignored) and ask MPS (DescribeImageTaskDetail, paced under its rate) what became "
        "of every submitted task: one row per upload, then a summary. Resumable; writes the keys of what "
        "failed to a resubmit list for `backfill --resubmit --keys`. Embedded fake MPS by default.",
    )
    p.add_argument("paths", nargs="+", metavar="LOG", help="log file (gzip accepted), directory of them, '-' for stdin")
    p.add_argument(
        "--live", action="store_true", help="ask the real MPS with TENCENTCLOUD_SECRETID/SECRETKEY[/SESSIONTOKEN]"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per upload, then a summary object")
    out.add_argument("--csv", action="store_true", help="CSV rows with a header (the summary goes to stderr)")
    p.add_argument(
        "--state",
        metavar="FILE",
        help=f"the finished tasks, for --resume (default: {LIVE_STATE} here with --live, "
        "in the embedded fakes' state directory without)",
    )
    p.add_argument("--resume", action="store_true", help="continue an interrupted report from --state")
    p.add_argument(
        "--resubmit-list",
        metavar="FILE",
        help=f"where the keys of failed uploads go (default: {RESUBMIT_NAME} next to the state file; "
        "one file per bucket, FILE-<bucket>.txt, when there are several)",
    )
    p.add_argument("--region", help="the buckets' region for the resubmit list, where neither logs nor MPS say it")
    p.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"DescribeImageTaskDetail calls per second (default {DEFAULT_RATE:g}, MPS's documented limit)",
    )
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=f"calls in flight (default {DEFAULT_WORKERS})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.rate <= 0 or args.workers < 1:
        raise UsageError("--rate must be positive and --workers at least 1")
    if args.paths.count("-") > 1:
        raise UsageError("'-' (stdin) can be given once")
    problem = check_paths(args.paths)
    if problem:
        raise UsageError(problem)
    state = Path(args.state or default_state(args.live))
    if args.resume:
        if not state.exists():
            raise UsageError(f"--resume: no state file {state} (a report writes it as it goes)")
        try:
            StateFile(state).header()
        except ReportError as exc:
            raise UsageError(str(exc)) from None
    require_writable("--state", str(state))
    resubmit = Path(args.resubmit_list) if args.resubmit_list else state.parent / RESUBMIT_NAME
    require_writable("--resubmit-list", str(resubmit))
    # settled: the demo's report comes after the replay, and shows each task as it ends.
    with mps_target(args.live, settled=True) as mps:
        return _report(args, state, resubmit, mps.name)


def default_state(live: bool) -> str:
    if live:
        return LIVE_STATE
    from ..local.fake_cloud import state_dir

    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    return str(state / DEMO_STATE)


def _report(args: argparse.Namespace, state_path: Path, resubmit: Path, target: str) -> int:
    from handler.credentials import CredentialProvider
    from handler.mps_client import MpsApi

    config = settings()
    region = mps_region(config)
    keys = environment_credentials()  # refuses, naming the variables, when there are none
    mps = MpsQueries(
        lambda: MpsApi(config.endpoint, region, keys, config.http_timeout),
        CredentialProvider(os.environ),  # the operator's keys, or the embedded fake's while it runs
        config.http_timeout,
        rate=args.rate,
    )
    state = StateFile(state_path)
    report = ReportRun(mps, state, ResubmitLists(resubmit, args.paths), workers=args.workers)
    printer = _Printer(args, sys.stdout, sys.stderr)
    rows = report.rows(log_records(args.paths))
    # The first Ctrl-C stops the report at the next row, its state whole; a second one at once.
    with CtrlC("report", lambda: report.queries_in_flight, config.http_timeout, on_stop=report.interrupt):
        try:
            if args.resume:
                for row in report.restored():
                    printer.row(row, report)
            state.start(args.paths, resume=args.resume)
            for row in rows:
                printer.row(row, report)
            files = report.finish(lambda bucket: args.region or "", time.time())
        except KeyboardInterrupt:
            try:
                rows.close()  # the engine records the answers in flight before it lets go
            except KeyboardInterrupt:  # a second Ctrl-C: their answers are asked again on --resume
                pass
            _abandon(report, state)
            printer.clear()
            resume = " ".join([*_quoted(args.paths), "--resume", *(["--state", str(state_path)] if args.state else [])])
            print(
                f"autoenhance report: interrupted after {report.summary.uploads} upload(s); "
                f"{report.state.written} finished task(s) kept in {state_path}: continue with "
                f"autoenhance report {resume}{' --live' if args.live else ''}",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        except (ReportError, UnreadableLog) as exc:
            _abandon(report, state)
            printer.clear()
            raise UsageError(f"{exc}; the finished tasks are kept in {state_path} (--resume continues)") from None
    state.close()
    printer.summary(report, files, target, state_path)
    if report.summary.uploads == 0 and not args.resume:
        print(no_records_hint(args.paths), file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FAILED if report.summary.failed else EXIT_OK


def no_records_hint(paths: list[str]) -> str:
    """Why a report found nothing: what each file looks like, and what a record line is."""
    from ..file_kinds import file_looks_like
    from ..function_logs import expand_paths

    kinds = []
    for path in expand_paths(paths):
        kind = "standard input" if path == "-" else file_looks_like(path)
        if kind not in ("text", "gzip-compressed data", "standard input"):
            kinds.append(f"{path} is {kind}")
    found = f" ({'; '.join(kinds)})" if kinds else ""
    return (
        f"autoenhance report: no record line of the function in {' '.join(paths)}{found}. Give it the "
        'function\'s log: JSON lines such as {"level": "INFO", "message": "record submitted", "key": ...} as '
        "SCF prints them, a CLS export or SearchLog answer, or the stderr of `autoenhance replay`"
    )


def _abandon(report: ReportRun, state: StateFile) -> None:
    if report.resubmit is not None:
        report.resubmit.abandon()  # a partial list would redo less than what failed
    state.close()


def _quoted(paths: list[str]) -> list[str]:
    import shlex

    return [shlex.quote(p) for p in paths]


class _Printer:
    """Rows and the summary as text, JSON lines or CSV; a progress line on stderr when it is a terminal."""

    def __init__(self, args: argparse.Namespace, out: IO[str], err: IO[str]):
        self.as_json, self.as_csv = args.json, args.csv
        self.out, self.err = out, err
        self.paths = args.paths
        self.tty = err.isatty()
        self._shown = 0.0
        self._progress = False
        self._csv: Any = None
        if self.as_csv:
            self._csv = csv.DictWriter(out, COLUMNS, extrasaction="ignore")
            self._csv.writeheader()

    def row(self, row: UploadRow, report: ReportRun) -> None:
        if self.as_json:
            print_json({"type": "upload", **row.as_json()})
        elif self.as_csv:
            self._csv.writerow({k: spreadsheet_safe(v) for k, v in row.as_json().items()})
        else:
            if self._progress and self.out.isatty():
                self.clear()
            self.out.write(describe_row(row) + "\n")
        self._tick(report)

    def _tick(self, report: ReportRun) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if now - self._shown < PROGRESS_EVERY:
            return
        self._shown = now
        s = report.summary
        self.out.flush()
        self.err.write(
            f"\rreport: {s.uploads} upload(s), {report.mps.calls} MPS call(s), "
            f"{s.results[FAILED]} failed, {s.results[PENDING]} pending\x1b[K"
        )
        self.err.flush()
        self._progress = True

    def clear(self) -> None:
        if self._progress:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self._progress = False

    def summary(self, report: ReportRun, files: list[ResubmitFile], target: str, state: Path) -> None:
        self.clear()
        s = report.summary
        if self.as_json:
            print_json(
                {
                    **s.as_json(),
                    "mps_calls": report.mps.calls,
                    "throttled": report.mps.throttled,
                    "state": str(state),
                    "resubmit": [_file_json(f) for f in files],
                    "target": target,
                }
            )
            return
        text = describe_summary(report, files, target, state, self.paths)
        text = "\n".join(printable(line) for line in text.split("\n"))  # keys, codes and rules as logged
        stream = self.err if self.as_csv else self.out
        stream.write(text + "\n")


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets; an
# uploader chooses keys (and the errors that quote them), so such a cell gets a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and value != "-":  # "-": no rule
        return "'" + value
    return value


def _file_json(f: ResubmitFile) -> dict[str, Any]:
    return {
        "bucket": f.bucket,
        "region": f.region,
        "file": str(f.path),
        "keys": f.keys,
        "encoded": f.encoded,
        "command": backfill_command(f),
    }


def describe_row(row: UploadRow) -> str:
    """Three lines for a person: result, status and key; the times; the output or what went wrong."""

    def p(value: Any) -> str:
        return printable(str(value)) if value not in (None, "") else "-"

    latency = f"{row.latency_s:.1f} s" if row.latency_s is not None else "-"
    if row.result == SUCCESS:
        detail = f"output {p(row.output)}"
    elif row.error_code or row.error:
        detail = f"{p(row.error_code)}: {p(row.error)}"
    elif row.reason:
        detail = p(row.reason)
    else:
        detail = f"TaskId {p(row.task_id)}" if row.task_id else ""
    return (
        f"  {row.result:<9} {row.status or '-':<10} {p(row.bucket)}/{p(row.key)}  rule {p(row.rule)}\n"
        f"             uploaded {p(row.uploaded_at)}  submitted {p(row.submitted_at)}  "
        f"finished {p(row.finished_at)}  upload->finished {latency}\n"
        f"             {detail}"
    )


def describe_summary(report: ReportRun, files: list[ResubmitFile], target: str, state: Path, paths: list[str]) -> str:
    s = report.summary

    def counts(counter: Any) -> str:
        return ", ".join(f"{n} {name}" for name, n in counter.items() if n) or "none"

    latency = s.latency()
    lines = [
        f"report of {' '.join(paths)}: {s.uploads} upload(s) [{target}]",
        f"  function outcomes: {counts(s.outcomes)}",
        f"  results: {counts(s.as_json()['results'])}"
        + (f" ({s.recovered} failed record(s) submitted by another delivery)" if s.recovered else ""),
        f"  error codes: {', '.join(f'{code} {n}' for code, n in s.error_codes.most_common()) or 'none'}",
        "  rules: " + "; ".join(f"{rule}: {counts(c)}" for rule, c in sorted(s.rules.items()))
        if s.rules
        else "  rules: none",
    ]
    if latency["count"]:
        lines.append(
            f"  upload -> finished ({latency['count']} task(s)): p50 {latency['p50']:.1f} s, "
            f"p90 {latency['p90']:.1f} s, p99 {latency['p99']:.1f} s, max {latency['max']:.1f} s"
        )
    else:
        lines.append("  upload -> finished: no task with both an upload time and a FinishTime")
    lines.append(
        f"  MPS: {report.mps.calls} DescribeImageTaskDetail call(s), {report.mps.throttled} throttled; "
        f"{s.from_state} task(s) from the state file {state}"
    )
    refused = report.resubmit.refused if report.resubmit is not None else 0
    if refused:
        lines.append(f"  {refused} failed upload(s) not listed: their bucket is not a COS bucket name <name>-<appid>")
    if not files:
        lines.append("  nothing to resubmit")
    for f in files:
        encoded = f" ({f.encoded} of them as JSON strings)" if f.encoded else ""
        lines.append(f"  resubmit {f.keys} key(s) of {f.bucket} listed in {f.path}{encoded}:")
        lines.append(f"    {backfill_command(f)}")
    return "\n".join(lines)
