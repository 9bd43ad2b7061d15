"""The fake MPS itself: state and rules, no HTTP (fakes/mps/server.py puts it on the wire).

`handle()` answers one API request the way MPS does (signature, common checks, the action);
`respond()` is what the HTTP layer calls: it first applies any injected fault and returns a
`Reply` telling the server what to put on (or withhold from) the wire.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlparse

from .. import tc3
from . import validation
from .errors import MpsError

JsonDict = dict[str, Any]

API_VERSION = "2019-06-12"
SERVICE = "mps"
DEDUP_SECONDS = 3 * 24 * 3600  # SessionId de-duplication window (ProcessMedia's documented 3 days)
MPS_REGIONS = frozenset(
    {
        "ap-guangzhou",
        "ap-shanghai",
        "ap-beijing",
        "ap-chengdu",
        "ap-chongqing",
        "ap-nanjing",
        "ap-hongkong",
        "ap-singapore",
        "ap-mumbai",
        "ap-seoul",
        "ap-tokyo",
        "ap-bangkok",
        "ap-jakarta",
        "na-siliconvalley",
        "na-ashburn",
        "eu-frankfurt",
        "sa-saopaulo",
    }
)
_AUTH_MESSAGES = {
    tc3.INVALID_AUTHORIZATION: "Authorization header is missing or malformed, or signs the wrong service.",
    tc3.SIGNATURE_EXPIRE: "Signature expired: X-TC-Timestamp is more than 300 s from the server time.",
    tc3.SECRET_ID_NOT_FOUND: "The SecretId is not found, please ensure that your SecretId is correct.",
    tc3.SIGNATURE_FAILURE: "The provided credentials could not be validated. Please check your signature.",
}


class FakeClock:
    """A settable clock for task ages and SessionId expiry (signatures always use real time)."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, t: float) -> None:
        self._now = t


FaultKind = Literal["error", "http_status", "drop", "lost_answer", "slow", "content_type"]


@dataclass(frozen=True)
class Fault:
    """A failure to inject. Build with the class methods, e.g. `Fault.error("InternalError")`."""

    kind: FaultKind
    code: str = ""
    message: str = ""
    status: int = 200
    seconds: float = 0.0
    media_type: str = ""  # for kind "content_type"

    @classmethod
    def error(cls, code: str, message: str = "") -> Fault:
        """An API error envelope with this code; nothing is processed."""
        return cls("error", code=code, message=message or f"Injected fault: {code}.")

    @classmethod
    def http_status(cls, status: int) -> Fault:
        """A non-200 answer with a text body (a gateway failing); nothing is processed."""
        return cls("http_status", status=status)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering; nothing is processed."""
        return cls("drop")

    @classmethod
    def lost_answer(cls) -> Fault:
        """Process the request (task created, SessionId recorded), then close without answering."""
        return cls("lost_answer")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Process the request, then wait this long before answering."""
        return cls("slow", seconds=seconds)

    @classmethod
    def content_type(cls, content_type: str) -> Fault:
        """Answer normally but with this Content-Type (the SDK then skips its error check)."""
        return cls("content_type", media_type=content_type)


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer puts on the wire; `drop` means close the connection, send nothing."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    drop: bool = False


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
class OutputLocation:
    bucket: str
    region: str
    path: str  # object key with a leading "/", as MPS reports it in Output.Path


@dataclass
class _Credential:
    secret_key: str
    token: str | None


@dataclass
class _FaultRates:
    rates: list[tuple[Fault, float]]
    action: str | None
    rng: random.Random


class MpsBackend:
    """One MPS account's API. `clock` ages tasks and SessionIds (pass a FakeClock in tests);
    `rate_limit_per_second` is per action and SecretId (None: unlimited); `accept_session_id=False`
    simulates an endpoint that refuses SessionId; a task is WAITING for `waiting_seconds`, then
    PROCESSING for `processing_seconds`, then FINISH; `seed` makes TaskIds reproducible;
    `latency_seconds` is added to every answer (a network round trip, for benchmarks)."""

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
    ) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self.latency_seconds = latency_seconds
        self.rate_limit_per_second = rate_limit_per_second
        self.accept_session_id = accept_session_id
        self.waiting_seconds = waiting_seconds
        self.processing_seconds = processing_seconds
        self.tasks: list[Task] = []
        self.calls: list[Call] = []
        self.sessions: dict[str, str] = {}  # SessionId -> TaskId
        self._by_id: dict[str, Task] = {}
        self._credentials: dict[str, _Credential] = {}
        self._ids = random.Random(seed)
        self._queued: list[tuple[str | None, Fault]] = []
        self._rates: _FaultRates | None = None
        # Real monotonic time, not `clock`: SDK calls made in real time must be limited, and
        # a FakeClock that tests never advance must not freeze the window.
        self._windows: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()  # the server is threaded: every state access holds it

    # ---- configuration -------------------------------------------------------------------

    def add_credential(self, secret_id: str, secret_key: str, token: str | None = None) -> None:
        """Accept requests signed with this key; with a token, they must also carry X-TC-Token."""
        with self._lock:
            self._credentials[secret_id] = _Credential(secret_key, token)

    def inject(self, fault: Fault, times: int = 1, action: str | None = "ProcessImage") -> None:
        """Queue `fault` for the next `times` calls of `action` (None: any action), FIFO."""
        with self._lock:
            self._queued.extend([(action, fault)] * times)

    def set_fault_rates(
        self, rates: Mapping[str | Fault, float], seed: int = 0, action: str | None = "ProcessImage"
    ) -> None:
        """Random faults, e.g. {"InternalError": 0.05, "drop": 0.02, "lost_answer": 0.01, "http_502": 0.01}.

        Keys are error codes, "drop", "lost_answer", "http_<status>" or Fault objects. The draws
        come from an RNG seeded with `seed`, so a run is reproducible. Queued faults go first.
        """
        parsed = [(_fault_for(key), rate) for key, rate in rates.items()]
        if any(rate < 0 for _, rate in parsed) or sum(rate for _, rate in parsed) > 1:
            raise ValueError("fault rates must be >= 0 and sum to at most 1")
        with self._lock:
            self._rates = _FaultRates(parsed, action, random.Random(seed)) if parsed else None

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

    # ---- the API ---------------------------------------------------------------------------

    def respond(
        self, action: str, headers: Mapping[str, str], body: bytes, method: str = "POST", query: str = ""
    ) -> Reply:
        """Answer one HTTP request, injected faults included (what the server calls)."""
        if self.latency_seconds:
            time.sleep(self.latency_seconds)  # before the backend acts, like a request in flight
        fault = self._next_fault(action)
        if fault is None:
            return _json_reply(self.handle(action, headers, body, method, query))
        if fault.kind in ("error", "http_status", "drop"):
            self._record(action, _params_of(body), fault.code or None, fault.kind)
            if fault.kind == "error":
                return _json_reply(_error_envelope(fault.code, fault.message))
            if fault.kind == "http_status":
                return Reply(fault.status, f"{fault.status} injected fault".encode(), "text/plain")
            return Reply(drop=True)
        envelope = self._handle(action, headers, body, method, query, fault.kind)
        if fault.kind == "lost_answer":
            return Reply(drop=True)
        reply = _json_reply(envelope)
        if fault.kind == "slow":
            return Reply(reply.status, reply.body, delay=fault.seconds)
        return Reply(reply.status, reply.body, content_type=fault.media_type)

    def handle(
        self, action: str, headers: Mapping[str, str], body: bytes, method: str = "POST", query: str = ""
    ) -> JsonDict:
        """The Response envelope MPS would send for this request (no faults)."""
        return self._handle(action, headers, body, method, query, None)

    def _handle(
        self, action: str, headers: Mapping[str, str], body: bytes, method: str, query: str, fault: str | None
    ) -> JsonDict:
        lowered = {k.lower(): v for k, v in headers.items()}
        params: JsonDict = {}
        try:
            secret_id = self._authenticate(lowered, body, method, query)
            if lowered.get("x-tc-version") != API_VERSION:
                raise MpsError("NoSuchVersion", f"The API version `{lowered.get('x-tc-version')}` does not exist.")
            if action not in ("ProcessImage", "DescribeImageTaskDetail"):
                raise MpsError("InvalidAction", f"The action `{action}` is not supported.")
            region = lowered.get("x-tc-region", "")
            if region and region not in MPS_REGIONS:
                raise MpsError("UnsupportedRegion", f"The region `{region}` is not supported.")
            if method != "POST":
                raise MpsError("UnsupportedProtocol", "The fake MPS implements only POST with a JSON body.")
            if lowered.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                raise MpsError("InvalidParameter", "Content-Type must be application/json.")
            params = _parse_body(body)
            self._check_rate(action, secret_id)
            if action == "ProcessImage":
                response = self._process_image(params, secret_id, region)
            else:
                response = self._describe_image_task_detail(params)
        except MpsError as e:
            self._record(action, params, e.code, fault)
            return _error_envelope(e.code, e.message)
        self._record(action, params, None, fault)
        return {"Response": {**response, "RequestId": str(uuid.uuid4())}}

    def _authenticate(self, headers: Mapping[str, str], body: bytes, method: str, query: str) -> str:
        auth = tc3.parse_authorization(headers.get("authorization"))
        if auth is None:
            raise MpsError(tc3.INVALID_AUTHORIZATION, _AUTH_MESSAGES[tc3.INVALID_AUTHORIZATION])
        with self._lock:
            credential = self._credentials.get(auth.secret_id)
        key = credential.secret_key if credential else None
        code = tc3.verify(auth, key, headers, body, service=SERVICE, method=method, query=query)
        if code:
            raise MpsError(code, _AUTH_MESSAGES[code])
        assert credential is not None
        # Permanent keys must not carry a token; temporary ones must carry theirs.
        if (credential.token or "") != headers.get("x-tc-token", ""):
            raise MpsError("AuthFailure.TokenFailure", "The token is invalid or does not match the SecretId.")
        return auth.secret_id

    def _check_rate(self, action: str, secret_id: str) -> None:
        if self.rate_limit_per_second is None:
            return
        now = time.monotonic()
        with self._lock:
            window = self._windows[(action, secret_id)]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate_limit_per_second:
                raise MpsError("RequestLimitExceeded", f"{action}: more than {self.rate_limit_per_second} requests/s.")
            window.append(now)

    def _process_image(self, params: JsonDict, secret_id: str, region: str) -> JsonDict:
        extra = validation.SESSION_FIELDS if self.accept_session_id else None
        validation.validate("ProcessImageRequest", params, extra)
        session_id = str(params.get("SessionId") or "")
        with self._lock:
            now = self.clock()
            previous = self._by_id.get(self.sessions.get(session_id, "")) if session_id else None
            if previous is not None and now - previous.created_at < DEDUP_SECONDS:
                raise MpsError(
                    "InvalidParameterValue.SessionId",
                    "The deduplication ID already exists. The request is removed due to duplication.",
                )
            task = Task(self._new_task_id(), session_id, params, now, secret_id, region)
            self._add_task(task)
        return {"TaskId": task.task_id}

    def _describe_image_task_detail(self, params: JsonDict) -> JsonDict:
        validation.validate("DescribeImageTaskDetailRequest", params)
        with self._lock:
            task = self._by_id.get(str(params["TaskId"]))
            now = self.clock()
        if task is None:
            raise MpsError("ResourceNotFound", f"The task `{params['TaskId']}` does not exist.")
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

    def _next_fault(self, action: str) -> Fault | None:
        with self._lock:
            for i, (wanted, fault) in enumerate(self._queued):
                if wanted is None or wanted == action:
                    del self._queued[i]
                    return fault
            rates = self._rates
            if rates is None or (rates.action is not None and rates.action != action):
                return None
            draw = rates.rng.random()
        for fault, rate in rates.rates:
            if draw < rate:
                return fault
            draw -= rate
        return None

    def _record(self, action: str, params: JsonDict, error_code: str | None, fault: str | None) -> None:
        with self._lock:
            self.calls.append(Call(action, params, error_code, self.clock(), fault))


def _fault_for(key: str | Fault) -> Fault:
    if isinstance(key, Fault):
        return key
    if key == "drop":
        return Fault.drop()
    if key == "lost_answer":
        return Fault.lost_answer()
    if key.startswith("http_") and key[5:].isdigit():
        return Fault.http_status(int(key[5:]))
    return Fault.error(key)


def _parse_body(body: bytes) -> JsonDict:
    try:
        params = json.loads(body)
    except ValueError:
        raise MpsError("InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise MpsError("InvalidParameter", "The request body must be a JSON object.")
    return params


def _params_of(body: bytes) -> JsonDict:
    try:
        return _parse_body(body)
    except MpsError:
        return {}


def _error_envelope(code: str, message: str) -> JsonDict:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}


def _json_reply(envelope: JsonDict) -> Reply:
    return Reply(body=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _obj(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
