"""The records the fake MPS keeps and hands out: tasks, calls, callers, output locations.

Apart from the backend so that every module of the fake (responses, output naming, task
outcomes, the task detail) shares them without importing the backend. `json_object` and
`json_text` read a task's body, whose sections and fields may be absent or null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class Task:
    task_id: str
    session_id: str
    params: JsonDict  # the ProcessImage body as received
    created_at: float  # on the backend's clock
    secret_id: str
    region: str


@dataclass(frozen=True)
class Call:
    """One request the fake received. `error_code` is the API error it answered (None = success);
    `fault` the kind of injected fault applied to it, if any."""

    action: str
    params: JsonDict
    error_code: str | None
    at: float
    fault: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as the actions need it."""

    secret_id: str
    region: str


@dataclass(frozen=True)
class OutputLocation:
    bucket: str
    region: str
    path: str  # object key with a leading "/", as MPS reports it in Output.Path


def json_object(value: object) -> Mapping[str, object]:
    """`value` if it is a JSON object, else an empty one (an absent or null section)."""
    return value if isinstance(value, dict) else {}


def json_text(value: object) -> str:
    """`value` if it is a string, else ""."""
    return value if isinstance(value, str) else ""
