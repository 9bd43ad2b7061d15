"""Record lines and a report engine for the report tests (tests/cli/test_report*.py).

A record line is built as the function writes it and read back through the function's own reader,
`read_record`; the engine asks a fake MPS through the SDK, as the command builds it.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

from autoenhance.function_logs import LoggedRecord
from autoenhance.mps_queries import MpsQueries
from autoenhance.report.engine import ReportRun
from autoenhance.report.resubmit import ResubmitLists
from autoenhance.report.state import StateFile
from fakes.harness import BUCKET, REGION
from handler.config import Endpoint
from handler.credentials import CredentialProvider
from handler.mps_client import MpsApi
from handler.results import LogRecord, read_record

T0 = 1_767_225_600.0  # FakeClock's start: 2026-01-01T00:00:00Z


def record(outcome: str = "submitted", key: str = "uploads/a.jpg", **fields: Any) -> dict[str, Any]:
    """A record line as the function logs it (handler/results.py log_fields + the invocation's fields)."""
    base = {
        "level": "INFO" if outcome != "failed" else "ERROR",
        "message": f"record {outcome}",
        "index": 0,
        "bucket": BUCKET,
        "key": key,
        "outcome": outcome,
        "reason": None,
        "session_id": f"ae1-{abs(hash(key)):x}",
        "task_id": None,
        "mps_request_id": None,
        "error_code": None,
        "error": None,
        "attempts": 1,
        "latency_ms": 2.0,
        "since_event_s": 1.0,
        "scf_request_id": "req-1",
        "cold_start": False,
    }
    return {**base, **fields}


def saved_tasks(count: int, created_at: float, secret_id: str, prefix: str = "T") -> list[dict[str, Any]]:
    """`count` finished tasks as the embedded fake's state file holds them."""
    return [
        {
            "task_id": f"{prefix}{i:06d}" + "x" * (58 - len(prefix)),  # 64 characters, as MPS's
            "session_id": f"s-{(f'{prefix}{i:06d}' + 'x')[:8]}",
            "params": {
                "InputInfo": {
                    "Type": "COS",
                    "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": f"/uploads/{i}.jpg"},
                },
                "ImageTask": {"EncodeConfig": {"Format": "JPEG"}},
            },
            "created_at": created_at,
            "secret_id": secret_id,
            "region": REGION,
        }
        for i in range(count)
    ]


def seed_tasks(mps: Any, count: int, created_at: float, prefix: str = "T") -> list[str]:
    """`count` finished tasks in the fake's history (restored, as the embedded fake reloads them)."""
    tasks = saved_tasks(count, created_at, mps.identity.secret_id, prefix)
    mps.backend.restore_tasks(tasks)
    return [task["task_id"] for task in tasks]


def lines_for(ids: list[str]) -> list[dict[str, Any]]:
    return [
        record(key=f"uploads/{i}.jpg", task_id=task_id, session_id=f"s-{task_id[:8]}") for i, task_id in enumerate(ids)
    ]


def engine(mps: Any, tmp_path: Path, *, resume: bool = False, workers: int = 2, rate: float = 1000.0, **clocks: Any):
    """A report engine asking `mps` through MpsApi, as the command builds it."""
    creds = CredentialProvider(mps.identity.environ())
    keys = creds.current
    queries = MpsQueries(lambda: MpsApi(Endpoint("http", mps.host), REGION, keys, 5.0), creds, 5.0, rate=rate, **clocks)
    state = StateFile(tmp_path / "state.jsonl")
    return ReportRun(queries, state, ResubmitLists(tmp_path / "resubmit.txt", ["log"]), workers=workers)


def parsed(fields: dict[str, Any]) -> LogRecord:
    """A record line as the function's own reader reads it."""
    found = read_record(json.dumps(fields, ensure_ascii=False))
    assert found is not None, fields
    return found


def as_records(lines: list[dict[str, Any]]) -> list[LoggedRecord]:
    return [LoggedRecord(parsed(fields), f"log:{n}", None) for n, fields in enumerate(lines, 1)]


def describe_calls(mps: Any) -> collections.Counter[str]:
    return collections.Counter(
        c.params.get("TaskId") for c in mps.backend.calls.snapshot() if c.action == "DescribeImageTaskDetail"
    )
