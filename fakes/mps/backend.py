"""The fake MPS's account: its tasks and SessionIds, and one method per API action.

No HTTP here, and no knowledge of it: fakes/mps/responses.py, built by the server around this
backend, parses a request, authenticates it and calls `process_image`,
`describe_image_task_detail` or `describe_usage_data` with its JSON parameters; each returns the
Response fields MPS would send or raises an MpsError (fakes/mps/exceptions.py). Tests seed and
inspect the state directly (`tasks`, `sessions`, `restore_tasks`, ...).

What is here is a task's life: accepted (SessionId de-duplication), WAITING, PROCESSING, then
run once when it reaches FINISH. Around it: fakes/mps/outcomes.py (what running a task does to
the wired COS, and the outcome it reports), fakes/mps/outputs.py (where the output goes),
fakes/mps/task_detail.py (DescribeImageTaskDetail's answer), fakes/mps/usage.py
(DescribeUsageData's counts).

`saved_tasks` / `restore_tasks` carry the tasks, SessionIds and outcomes from one backend to
another (the embedded fake's state file between CLI runs).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..core.backend import ServiceBackend
from . import usage, validation
from .exceptions import RequestLimitExceeded, ResourceNotFound, SessionIdInUse, TaskFailure
from .faults import Fault
from .outcomes import TaskOutcome, outcome_from_saved, run_task, saved_outcome
from .outputs import output_location
from .records import Call, Caller, JsonDict, OutputLocation, Task, json_object, json_text
from .task_detail import FINISH, PROCESSING, WAITING, task_detail

if TYPE_CHECKING:
    from ..cos.backend import CosBackend
    from ..cos.records import StoredObject

DEDUP_SECONDS = 3 * 24 * 3600  # SessionId de-duplication window (ProcessMedia's documented 3 days)
WAITING_SECONDS, PROCESSING_SECONDS = 1.0, 2.0  # a task's default time in each status before FINISH


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
    cannot, it finishes FAIL (`finish_due_tasks` says when and how). An input holding an image's
    bytes gets its ImageTask done with Pillow (fakes/mps/imaging.py); `stand_in_bodies` (the
    default) keeps the estimated output for bytes that are no image format at all, the stand-ins
    tests upload, where False fails them with SourceFileError as MPS does (the preview's choice)."""

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
        stand_in_bodies: bool = True,
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
        self.stand_in_bodies = stand_in_bodies
        # Tasks ProcessImage accepted and not yet run, as a heap of (created_at, seq, task): every
        # task takes as long, so the earliest created is the next to finish.
        self._unrun: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        self._running: set[str] = set()  # TaskIds being run by some thread right now
        self._outcomes: dict[str, TaskOutcome] = {}
        self._restored: set[str] = set()  # TaskIds restore_tasks added: never run here
        self._outputs: list[StoredObject] = []

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
                outcome = outcome_from_saved(item.get("outcome"))
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
                outcome = run_task(self.cos, task, write=False, stand_ins=self.stand_in_bodies)
            if outcome is not None:
                item["outcome"] = saved_outcome(outcome)
            saved.append(item)
        return saved

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
        finished_at = self._finish_time(task)
        if now - task.created_at < self.waiting_seconds:
            return task_detail(task, WAITING, finished_at, None)
        if now < finished_at or running:
            # Still running in another thread: MPS says FINISH only once the output is written.
            return task_detail(task, PROCESSING, finished_at, None)
        return task_detail(task, FINISH, finished_at, outcome.failure if outcome else None)

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
        `output_path_for(task)` (key without the leading "/") with `put_object` (the image the
        task makes of an input's image bytes, fakes/mps/imaging.py; else an object sized from the
        input and typed by its format, fakes/mps/outputs.py), so the on_object_created callbacks
        fire in the calling thread, with no MPS lock held. Why a task fails instead, and what a
        failed or unwired task writes (nothing), is fakes/mps/outcomes.py's `run_task`.
        """
        with self._lock:
            now = self.clock()
        return self._finish_due(now)

    def run_pending_tasks(self) -> list[Task]:
        """Run now every accepted task that has not run yet, oldest first, whatever the clock says;
        returns them. For a process that ends before its tasks' time and wants their outputs
        written (the CLI's embedded fake, before it saves its state and its bucket). Each task
        keeps its FinishTime and reads WAITING, then PROCESSING, until that comes."""
        return self._finish_due(math.inf)

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
        """Where MPS writes the task's output (fakes/mps/outputs.py has the naming rules)."""
        return output_location(task.params)

    def tasks_for_object(self, bucket: str, object_path: str) -> list[Task]:
        """Tasks whose COS input is this object ("a/b.jpg" and "/a/b.jpg" are the same)."""
        wanted = "/" + object_path.lstrip("/")
        with self._lock:
            tasks = list(self.tasks)
        out = []
        for task in tasks:
            cos = json_object(json_object(task.params.get("InputInfo")).get("CosInputInfo"))
            if cos.get("Bucket") == bucket and "/" + json_text(cos.get("Object")).lstrip("/") == wanted:
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
                outcome = run_task(self.cos, task, stand_ins=self.stand_in_bodies)
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
