"""The fake MPS's account: its tasks and SessionIds, and one method per API action.

No HTTP and no wire format here: fakes/mps/responses.py parses a request, authenticates it
and calls `process_image` / `describe_image_task_detail` with its JSON parameters; each
returns the Response fields MPS would send or raises an MpsError (fakes/mps/exceptions.py).
Tests seed and inspect the state directly (`tasks`, `sessions`, `restore_tasks`, ...).

Wired to a fake COS (`MpsBackend(cos=CosBackend(...))`), a task does to the bucket what MPS
does when it reaches FINISH: it reads its input object and writes its output object, or
finishes FAIL when it cannot (see `finish_due_tasks`).

`saved_tasks` / `restore_tasks` carry the tasks, SessionIds and outcomes from one backend to
another (the embedded fake's state file between CLI runs).
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

from ..core.backend import ServiceBackend
from ..core.reply import Reply
from ..cos.exceptions import CosError
from ..cos.store import object_key_problem
from . import responses, usage, validation
from .exceptions import (
    InvalidInput,
    RequestLimitExceeded,
    ResourceNotFound,
    SessionIdInUse,
    SourceFileError,
    TaskFailure,
)
from .faults import Fault
from .records import Call, Caller, JsonDict, OutputLocation, Task

if TYPE_CHECKING:
    from ..cos.backend import CosBackend
    from ..cos.records import StoredObject

DEDUP_SECONDS = 3 * 24 * 3600  # SessionId de-duplication window (ProcessMedia's documented 3 days)
# Output format -> (Content-Type, rough bytes per pixel relative to JPEG): sizes an output from its input.
OUTPUT_FORMATS: Mapping[str, tuple[str, float]] = {
    "jpeg": ("image/jpeg", 1.0),
    "jpg": ("image/jpeg", 1.0),
    "png": ("image/png", 3.0),
    "webp": ("image/webp", 0.7),
    "bmp": ("image/bmp", 8.0),
}
WAITING_SECONDS, PROCESSING_SECONDS = 1.0, 2.0  # a task's default time in each status before FINISH
NON_COS_INPUT_SIZE = 100_000  # a URL/S3/VOD input is never fetched: the output is sized as if it were this


@dataclass(frozen=True)
class TaskOutcome:
    """What running a finished task did: `failure` None is SUCCESS; `written` is the output object
    put into the wired COS (None when unwired or failed)."""

    failure: TaskFailure | None = None
    written: StoredObject | None = None


class MpsBackend(ServiceBackend[Call, Fault]):
    """One MPS account's API. `clock` ages tasks and SessionIds (pass a FakeClock in tests);
    `rate_limit_per_second` is per action and SecretId (None: unlimited); `accept_session_id=False`
    simulates an endpoint that refuses SessionId; a task is WAITING for `waiting_seconds`, then
    PROCESSING for `processing_seconds`, then FINISH; `seed` makes TaskIds reproducible;
    `latency_seconds` is added to every answer (a network round trip, for benchmarks);
    `rate_clock` is what the rate-limit window runs on: real monotonic time by default, since
    SDK calls are made in real time and a FakeClock that tests never advance must not freeze the
    window; pass the client's own injected clock when the client also sleeps on it.

    `cos`: a fake COS backend to act on (None: unwired, the fake writes nothing and reports
    every task SUCCESS). Wired, a task that reaches FINISH reads its input object there
    and writes its output at `output_path_for(task)` through `CosBackend.put_object`, so the
    on_object_created callbacks (a COS trigger) see MPS's write as any other upload; when it
    cannot, it finishes FAIL (`finish_due_tasks` says when and how)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        rate_limit_per_second: float | None = 20,
        accept_session_id: bool = True,
        waiting_seconds: float = WAITING_SECONDS,
        processing_seconds: float = PROCESSING_SECONDS,
        seed: int = 0,
        latency_seconds: float = 0.0,
        rate_clock: Callable[[], float] | None = None,
        cos: CosBackend | None = None,
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
        self.cos = cos
        # Tasks ProcessImage accepted and not yet run, as a heap of (created_at, seq, task): every
        # task takes as long, so the earliest created is the next to finish.
        self._unrun: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        self._running: set[str] = set()  # TaskIds being run by some thread right now
        self._outcomes: dict[str, TaskOutcome] = {}
        self._restored: set[str] = set()  # TaskIds restore_tasks added: never run here
        self._outputs: list[StoredObject] = []
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
        """Reload tasks (dicts of the Task fields, as `saved_tasks` gives them), SessionIds included.

        They are never run here: they ran, or were decided, against the COS of the backend that
        saved them, so a wired COS sees no write for them. An item's "outcome" (see
        `saved_tasks`) is what the task reports once its time comes, FAIL included; an item
        without one (state saved before outcomes were, or `vars(task)`) reports SUCCESS, as an
        unwired fake's tasks do."""
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
                self._restored.add(task.task_id)
                outcome = _outcome_from_json(item.get("outcome"))
                if outcome is not None:
                    self._outcomes[task.task_id] = outcome

    def saved_tasks(self) -> list[JsonDict]:
        """Every task as a JSON-ready dict that `restore_tasks` takes: the Task fields, and the
        task's "outcome" as DescribeImageTaskDetail will report it ({"Status": "SUCCESS"} or
        {"Status": "FAIL", "ErrCode", "ErrMsg", "Message"}).

        A task that has run keeps how it ended. One this backend accepted and has not run yet
        is decided now against the wired COS, as `finish_due_tasks` would run it with the
        bucket as it is, but nothing is written: whoever restores it never runs it, and this
        backend's COS is the only one that held its input. A restored task keeps what it was
        restored with, or stays without an outcome (this COS never held its input)."""
        with self._lock:
            tasks = list(self.tasks)
            outcomes = dict(self._outcomes)
            restored = set(self._restored)
        saved = []
        for task in tasks:
            item: JsonDict = dict(vars(task))
            outcome = outcomes.get(task.task_id)
            if outcome is None and task.task_id not in restored:
                outcome = self._run(task, write=False)
            if outcome is not None:
                item["outcome"] = _outcome_json(outcome)
            saved.append(item)
        return saved

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
        # One reading of the clock per call, running due tasks included: a clock that ticks per
        # read (tests/clocks.py) keeps the pace the tests sharing it expect.
        with self._lock:
            now = self.clock()
        self._finish_due(now)
        extra = validation.SESSION_FIELDS if self.accept_session_id else None
        validation.validate("ProcessImageRequest", params, extra)
        session_id = str(params.get("SessionId") or "")
        with self._lock:
            previous = self._by_id.get(self.sessions.get(session_id, "")) if session_id else None
            if previous is not None and now - previous.created_at < DEDUP_SECONDS:
                raise SessionIdInUse()
            task = Task(self._new_task_id(), session_id, params, now, caller.secret_id, caller.region)
            self._add_task(task)
            heapq.heappush(self._unrun, (task.created_at, next(self._seq), task))
        return {"TaskId": task.task_id}

    def describe_image_task_detail(self, params: JsonDict, caller: Caller) -> JsonDict:
        # One reading of the clock for both: a task this answer calls FINISH has been run.
        with self._lock:
            now = self.clock()
        self._finish_due(now)
        validation.validate("DescribeImageTaskDetailRequest", params)
        with self._lock:
            task = self._by_id.get(str(params["TaskId"]))
            outcome = self._outcomes.get(task.task_id) if task else None
            running = task is not None and task.task_id in self._running
        if task is None:
            raise ResourceNotFound(f"The task `{params['TaskId']}` does not exist.")
        age = now - task.created_at
        finished_at = self._finish_time(task)
        results: list[JsonDict] = []
        failure: TaskFailure | None = None
        if age < self.waiting_seconds:
            status = "WAITING"
        elif now < finished_at or running:
            # Still running in another thread: MPS says FINISH only once the output is written.
            status = "PROCESSING"
            results = [{"Status": "PROCESSING", "ErrMsg": "", "Message": "", "Progress": 50, "Output": None}]
        elif outcome is not None and outcome.failure is not None:
            status, failure = "FINISH", outcome.failure
            results = [
                {"Status": "FAIL", "ErrMsg": failure.code, "Message": failure.message, "Progress": 0, "Output": None}
            ]
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
            "ErrCode": failure.err_code if failure else 0,
            "ErrMsg": failure.code if failure else "",
            "Message": failure.message if failure else "",
            "ImageProcessTaskResultSet": results,
            "CreateTime": _iso(task.created_at),
            "FinishTime": _iso(finished_at) if status == "FINISH" else "",
            "Definition": task.params.get("Definition", 0),
            "ImageTask": task.params.get("ImageTask"),
            "InputInfo": task.params.get("InputInfo"),
        }

    def describe_usage_data(self, params: JsonDict, caller: Caller) -> JsonDict:
        """Per-day counts of this account's tasks (fakes/mps/usage.py has the rules)."""
        with self._lock:
            now = self.clock()
        self._finish_due(now)  # a task that has failed by now is not billed
        with self._lock:
            tasks = list(self.tasks)
        return usage.describe_usage_data(params, tasks, now, self.outcome_of)

    # ---- tasks finishing ----------------------------------------------------------------------

    def finish_due_tasks(self) -> list[Task]:
        """Run every task that has reached FINISH on the clock and has not run yet, oldest first;
        returns them.

        Nothing runs in the background: every API call runs the due tasks first (so a
        DescribeImageTaskDetail that answers FINISH has seen its task's output written), and a
        test that only moves the clock calls this to let MPS catch up. A task runs once, at the
        first such call at or after created_at + waiting_seconds + processing_seconds; its
        FinishTime is that instant, whenever the call comes.

        Wired to a COS, running a task reads its COS input (`CosInputInfo`; a bucket not in that
        region is no bucket, as at COS's endpoint) and writes the output object at
        `output_path_for(task)` (key without the leading "/") with `put_object`, sized from the
        input and typed by its format (OUTPUT_FORMATS), so the on_object_created callbacks fire
        in the calling thread, with no MPS lock held. A missing, archived or empty input fails
        the task with SourceFileError; an output bucket missing (or in another region) or a key
        COS refuses fails it with InvalidInput; a failed task writes nothing. A task whose
        OutputStorage is not COS, or any task of an unwired fake, succeeds and writes nothing.
        """
        with self._lock:
            now = self.clock()
        return self._finish_due(now)

    def outcome_of(self, task_id: str) -> TaskOutcome | None:
        """How the task ended (None: not run yet, or restored without an outcome). A task restored
        with one has it from the start, whatever its age."""
        with self._lock:
            return self._outcomes.get(task_id)

    def output_objects(self) -> list[StoredObject]:
        """The objects this MPS wrote into the wired COS, in the order it wrote them."""
        with self._lock:
            return list(self._outputs)

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

    def _finish_time(self, task: Task) -> float:
        return task.created_at + self.waiting_seconds + self.processing_seconds

    def _finish_due(self, now: float) -> list[Task]:
        with self._lock:
            due: list[Task] = []
            while self._unrun and self._finish_time(self._unrun[0][2]) <= now:
                due.append(heapq.heappop(self._unrun)[2])
            self._running.update(task.task_id for task in due)
        error: Exception | None = None
        for task in due:
            try:
                outcome = self._run(task)
            except Exception as e:  # noqa: BLE001 - a bug of the fake: raised once every due task is recorded
                outcome, error = TaskOutcome(TaskFailure(f"The fake MPS failed running the task: {e!r}")), error or e
            with self._lock:
                self._outcomes[task.task_id] = outcome
                self._running.discard(task.task_id)
                if outcome.written is not None:
                    self._outputs.append(outcome.written)
        if error is not None:
            raise error
        return due

    def _run(self, task: Task, write: bool = True) -> TaskOutcome:
        """Do to the wired COS what MPS does when the task finishes (called with no lock held);
        `write=False` decides the same outcome and writes nothing."""
        cos = self.cos
        storage = _obj(task.params.get("OutputStorage"))
        if cos is None or (storage and storage.get("Type") != "COS"):
            return TaskOutcome()
        info = _obj(task.params.get("InputInfo"))
        try:
            if info.get("Type") == "COS":
                source = _read_input(cos, _obj(info.get("CosInputInfo")))
                in_size, in_type, in_key = source.size, source.content_type, source.key
            else:
                in_size, in_type = NON_COS_INPUT_SIZE, ""
                in_key = urlparse(_str(_obj(info.get("UrlInputInfo")).get("Url"))).path
            out = self.output_path_for(task)
            return TaskOutcome(written=_write_output(cos, task, out, in_key, in_size, in_type, write))
        except TaskFailure as failure:
            return TaskOutcome(failure)

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
        self._unrun.clear()
        self._seq = itertools.count()
        self._running.clear()
        self._outcomes.clear()
        self._restored.clear()
        self._outputs.clear()
        self._windows.clear()
        self._ids = random.Random(self._seed)


def _read_input(cos: CosBackend, source: Mapping[str, object]) -> StoredObject:
    bucket, region, path = _str(source.get("Bucket")), _str(source.get("Region")), _str(source.get("Object"))
    where = f"`{path}` in bucket `{bucket}` ({region})"
    try:
        if cos.head_bucket(bucket) != region:
            raise SourceFileError(f"Source file error: {where}: the bucket does not exist in this region.")
        stored, _ = cos.get_object(bucket, path.lstrip("/"))
    except CosError as e:
        raise SourceFileError(f"Source file error: cannot read {where}: {e.code}: {e.message}") from None
    if stored.size == 0:
        raise SourceFileError(f"Source file error: {where} is empty, not an image.")
    return stored


def _write_output(
    cos: CosBackend, task: Task, out: OutputLocation, in_key: str, in_size: int, in_type: str, write: bool = True
) -> StoredObject | None:
    where = f"`{out.path}` in bucket `{out.bucket}` ({out.region})"
    try:
        found = cos.head_bucket(out.bucket)
    except CosError:
        found = None
    if found != out.region:
        raise InvalidInput(f"Invalid input: cannot write the output {where}: the output bucket does not exist.")
    if not write:
        key_problem = object_key_problem(out.path.lstrip("/"))
        if key_problem:
            raise InvalidInput(f"Invalid input: cannot write the output {where}: {key_problem}")
        return None
    in_ext, out_ext = _extension(in_key), _extension(out.path)
    content_type = OUTPUT_FORMATS.get(out_ext, (in_type or "application/octet-stream", 1.0))[0]
    ratio = OUTPUT_FORMATS.get(out_ext, ("", 1.0))[1] / OUTPUT_FORMATS.get(in_ext, ("", 1.0))[1]
    enhance = _obj(_obj(task.params.get("ImageTask")).get("EnhanceConfig"))
    # Super-resolution doubles width and height: four times the pixels.
    scale = 4 if _obj(enhance.get("SuperResolution")).get("Switch") == "ON" else 1
    try:
        return cos.put_object(
            out.bucket, out.path.lstrip("/"), size=max(1, round(in_size * ratio * scale)), content_type=content_type
        )
    except (KeyError, ValueError) as e:  # COS refuses the key (too long, empty)
        raise InvalidInput(f"Invalid input: cannot write the output {where}: {e}") from None


_FAILURES: dict[str, type[TaskFailure]] = {cls.code: cls for cls in (TaskFailure, SourceFileError, InvalidInput)}


def _outcome_json(outcome: TaskOutcome) -> JsonDict:
    failure = outcome.failure
    if failure is None:
        return {"Status": "SUCCESS"}
    return {"Status": "FAIL", "ErrCode": failure.err_code, "ErrMsg": failure.code, "Message": failure.message}


def _outcome_from_json(saved: object) -> TaskOutcome | None:
    """A saved outcome back (None when there is none to read: the task reports SUCCESS)."""
    if not isinstance(saved, dict):
        return None
    if saved.get("Status") == "SUCCESS":
        return TaskOutcome()
    if saved.get("Status") != "FAIL":
        return None
    code = _str(saved.get("ErrMsg")) or TaskFailure.code
    cls = _FAILURES.get(code)
    if cls is None:  # a code this fake no longer raises: keep it as saved
        cls = type(f"TaskFailure_{code}", (TaskFailure,), {"code": code})
    failure = cls(_str(saved.get("Message")))
    err_code = saved.get("ErrCode")
    if isinstance(err_code, int) and not isinstance(err_code, bool):
        failure.err_code = err_code
    return TaskOutcome(failure)


def _extension(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[2].lower() if "." in name else ""


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _obj(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
