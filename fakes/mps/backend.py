"""The fake MPS's account: its tasks and SessionIds, and one method per API action.

No HTTP and no wire format here: fakes/mps/responses.py parses a request, authenticates it
and calls `process_image` / `describe_image_task_detail` with its JSON parameters; each
returns the Response fields MPS would send or raises an MpsError (fakes/mps/exceptions.py).
Tests seed and inspect the state directly (`tasks`, `sessions`, `restore_tasks`, ...).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlparse

from ..core.backend import ServiceBackend
from ..core.reply import Reply
from . import responses, validation
from .exceptions import RequestLimitExceeded, ResourceNotFound, SessionIdInUse
from .faults import Fault
from .records import Call, Caller, JsonDict, OutputLocation, Task

DEDUP_SECONDS = 3 * 24 * 3600  # SessionId de-duplication window (ProcessMedia's documented 3 days)


class MpsBackend(ServiceBackend[Call, Fault]):
    """One MPS account's API. `clock` ages tasks and SessionIds (pass a FakeClock in tests);
    `rate_limit_per_second` is per action and SecretId (None: unlimited); `accept_session_id=False`
    simulates an endpoint that refuses SessionId; a task is WAITING for `waiting_seconds`, then
    PROCESSING for `processing_seconds`, then FINISH; `seed` makes TaskIds reproducible;
    `latency_seconds` is added to every answer (a network round trip, for benchmarks);
    `rate_clock` is what the rate-limit window runs on: real monotonic time by default, since
    SDK calls are made in real time and a FakeClock that tests never advance must not freeze the
    window; pass the client's own injected clock when the client also sleeps on it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        rate_limit_per_second: float | None = 20,
        accept_session_id: bool = True,
        waiting_seconds: float = 1.0,
        processing_seconds: float = 2.0,
        seed: int = 0,
        latency_seconds: float = 0.0,
        rate_clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(clock=clock, latency_seconds=latency_seconds)
        self.rate_limit_per_second = rate_limit_per_second
        self.accept_session_id = accept_session_id
        self.waiting_seconds = waiting_seconds
        self.processing_seconds = processing_seconds
        self.tasks: list[Task] = []
        self.sessions: dict[str, str] = {}  # SessionId -> TaskId
        self._seed = seed
        self._by_id: dict[str, Task] = {}
        self._ids = random.Random(seed)
        self._rate_clock: Callable[[], float] = rate_clock or time.monotonic
        self._windows: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._wire = responses.MpsResponses(self)

    # ---- configuration -------------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1, action: str | None = "ProcessImage") -> None:
        """Queue `fault` for the next `times` calls of `action` (None: any action), FIFO."""
        self.faults.inject(fault, times, action)

    def set_fault_rates(
        self, rates: Mapping[str | Fault, float], seed: int = 0, action: str | None = "ProcessImage"
    ) -> None:
        """Random faults, e.g. {"InternalError": 0.05, "drop": 0.02, "lost_answer": 0.01, "http_502": 0.01}.

        Keys are error codes, "drop", "lost_answer", "http_<status>" or Fault objects. The draws
        come from an RNG seeded with `seed`, so a run is reproducible. Queued faults go first.
        """
        self.faults.set_rates([(Fault.parse(key), rate) for key, rate in rates.items()], seed, action)

    def restore_tasks(self, saved: Iterable[Mapping[str, Any]]) -> None:
        """Reload tasks saved from `tasks` (dicts of the Task fields), SessionIds included."""
        with self._lock:
            for item in saved:
                task = Task(
                    str(item["task_id"]),
                    str(item.get("session_id") or ""),
                    dict(item["params"]),
                    float(item["created_at"]),
                    str(item.get("secret_id") or ""),
                    str(item.get("region") or ""),
                )
                self._add_task(task)

    # ---- the wire (fakes/mps/responses.py) -------------------------------------------------

    def respond(
        self, action: str, headers: Mapping[str, str], body: bytes, method: str = "POST", query: str = ""
    ) -> Reply:
        """Answer one HTTP request, injected faults included (what the server calls)."""
        return self._wire.respond(action, headers, body, method, query)

    def handle(
        self, action: str, headers: Mapping[str, str], body: bytes, method: str = "POST", query: str = ""
    ) -> JsonDict:
        """The Response envelope MPS would send for this request (no faults)."""
        return self._wire.handle(action, headers, body, method, query)

    # ---- the API actions -------------------------------------------------------------------

    def admit(self, action: str, secret_id: str) -> None:
        """Count one request against the per-action, per-SecretId rate limit."""
        if self.rate_limit_per_second is None:
            return
        now = self._rate_clock()
        with self._lock:
            window = self._windows[(action, secret_id)]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate_limit_per_second:
                raise RequestLimitExceeded(f"{action}: more than {self.rate_limit_per_second} requests/s.")
            window.append(now)

    def process_image(self, params: JsonDict, caller: Caller) -> JsonDict:
        extra = validation.SESSION_FIELDS if self.accept_session_id else None
        validation.validate("ProcessImageRequest", params, extra)
        session_id = str(params.get("SessionId") or "")
        with self._lock:
            now = self.clock()
            previous = self._by_id.get(self.sessions.get(session_id, "")) if session_id else None
            if previous is not None and now - previous.created_at < DEDUP_SECONDS:
                raise SessionIdInUse()
            task = Task(self._new_task_id(), session_id, params, now, caller.secret_id, caller.region)
            self._add_task(task)
        return {"TaskId": task.task_id}

    def describe_image_task_detail(self, params: JsonDict, caller: Caller) -> JsonDict:
        validation.validate("DescribeImageTaskDetailRequest", params)
        with self._lock:
            task = self._by_id.get(str(params["TaskId"]))
            now = self.clock()
        if task is None:
            raise ResourceNotFound(f"The task `{params['TaskId']}` does not exist.")
        age = now - task.created_at
        finished_at = task.created_at + self.waiting_seconds + self.processing_seconds
        results: list[JsonDict] = []
        if age < self.waiting_seconds:
            status = "WAITING"
        elif now < finished_at:
            status = "PROCESSING"
            results = [{"Status": "PROCESSING", "ErrMsg": "", "Message": "", "Progress": 50, "Output": None}]
        else:
            status = "FINISH"
            out = self.output_path_for(task)
            storage = {"Type": "COS", "CosOutputStorage": {"Bucket": out.bucket, "Region": out.region}}
            signed_url = f"https://{out.bucket}.cos.{out.region}.myqcloud.com{quote(out.path)}?q-sign-algorithm=sha1"
            results = [
                {
                    "Status": "SUCCESS",
                    "ErrMsg": "",
                    "Message": "",
                    "Progress": 100,
                    "Output": {"Path": out.path, "OutputStorage": storage, "SignedUrl": signed_url},
                }
            ]
        return {
            "TaskType": "WorkflowTask",
            "Status": status,
            "ErrCode": 0,
            "ErrMsg": "",
            "Message": "",
            "ImageProcessTaskResultSet": results,
            "CreateTime": _iso(task.created_at),
            "FinishTime": _iso(finished_at) if status == "FINISH" else "",
            "Definition": task.params.get("Definition", 0),
            "ImageTask": task.params.get("ImageTask"),
            "InputInfo": task.params.get("InputInfo"),
        }

    # ---- what MPS would write, and helpers for tests ---------------------------------------

    def output_path_for(self, task: Task) -> OutputLocation:
        """Where MPS writes the task's output (ProcessImage's OutputStorage/OutputDir/OutputPath docs).

        Bucket and region come from OutputStorage, else the input's; the directory is OutputDir,
        else the input's; the name is OutputPath (absolute, or relative to the directory), else
        `{inputName}.{format}`, where {format} is the lowercased EncodeConfig.Format, else the
        input's extension.
        """
        p = task.params
        source = _obj(_obj(p.get("InputInfo")).get("CosInputInfo"))
        target = _obj(_obj(p.get("OutputStorage")).get("CosOutputStorage"))
        url = _str(_obj(_obj(p.get("InputInfo")).get("UrlInputInfo")).get("Url"))
        input_path = _str(source.get("Object")) or urlparse(url).path
        directory, _, filename = input_path.rpartition("/")
        input_name, dot, input_ext = filename.rpartition(".")
        if not dot:
            input_name, input_ext = filename, ""
        fmt = _str(_obj(_obj(p.get("ImageTask")).get("EncodeConfig")).get("Format")).lower() or input_ext
        out_dir = _str(p.get("OutputDir")) or "/" + (directory + "/").lstrip("/")
        name = (_str(p.get("OutputPath")) or "{inputName}.{format}").replace("{inputName}", input_name)
        name = name.replace("{inputFormat}", input_ext).replace("{format}", fmt)
        return OutputLocation(
            bucket=_str(target.get("Bucket")) or _str(source.get("Bucket")),
            region=_str(target.get("Region")) or _str(source.get("Region")),
            path=name if name.startswith("/") else out_dir + name,
        )

    def tasks_for_object(self, bucket: str, object_path: str) -> list[Task]:
        """Tasks whose COS input is this object ("a/b.jpg" and "/a/b.jpg" are the same)."""
        wanted = "/" + object_path.lstrip("/")
        with self._lock:
            tasks = list(self.tasks)
        out = []
        for task in tasks:
            cos = _obj(_obj(task.params.get("InputInfo")).get("CosInputInfo"))
            if cos.get("Bucket") == bucket and "/" + _str(cos.get("Object")).lstrip("/") == wanted:
                out.append(task)
        return out

    # ---- internals ---------------------------------------------------------------------------

    def _add_task(self, task: Task) -> None:
        self.tasks.append(task)
        self._by_id[task.task_id] = task
        if task.session_id:
            self.sessions[task.session_id] = task.task_id

    def _new_task_id(self) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        while True:  # restored tasks may already hold the seeded RNG's next ids
            task_id = "".join(self._ids.choices(alphabet, k=64))
            if task_id not in self._by_id:
                return task_id

    def _clear(self) -> None:
        self.tasks.clear()
        self.sessions.clear()
        self._by_id.clear()
        self._windows.clear()
        self._ids = random.Random(self._seed)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _obj(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
