"""The one way tests and benchmarks wire the function to the fakes.

- `start_mps` / `start_cos`: a fake MPS or COS running on a loopback port, accepting one fake
  identity from `fakes/identities.py` (the fixtures in tests/conftest.py and the benchmarks both
  use them; a running fake is also a context manager that stops it). `start_mps(cos=fake_cos)`
  wires the MPS to a COS: finished tasks write their outputs there, as MPS does.
- `function_env`: what SCF injects into the function (the MPS endpoint, the execution role's keys,
  the region) plus configuration.
- `WarmContainer`: one warm SCF container in this process, `handler.index.load_function(Runtime(...))`
  pointed at a fake MPS, with its JSON log captured.

This is the only module of `fakes/` that imports the function (`handler.index` and its errors):
it runs it. The fakes themselves know nothing of it; they share only `handler/times.py`, the
project's one time formatter and parser, so a fake writes times as everything else reads them.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from qcloud_cos import CosConfig, CosS3Client
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from handler.errors import ConfigurationError, MalformedEventError, RecordsNotSubmittedError
from handler.index import Function, load_function
from handler.runtime import Runtime

from .cos import CosBackend, FakeCosServer, ObjectCreated
from .identities import COS_ROLE, MPS_ROLE, FakeIdentity
from .mps import FakeMpsServer, MpsBackend

if TYPE_CHECKING:
    from typing_extensions import Self

REGION = "ap-guangzhou"
BUCKET = "photos-1250000000"  # the bucket a fake COS starts with, and the sample events' bucket
# The invocation context SCF passes, as the tests have always used it: a fixed request id, a 30 s limit.
CONTEXT: dict[str, Any] = {"request_id": "req-1", "time_limit_in_ms": 30_000, "tencentcloud_region": REGION}
# The only exception types the function may raise (docs/how-it-works.md, Failure semantics).
DOCUMENTED_ERRORS = (RecordsNotSubmittedError, MalformedEventError, ConfigurationError)
FAST_SLEEP_CAP = 0.01  # WarmContainer's default sleep: every sleep recorded, at most this long for real


def function_env(
    mps_url: str, identity: FakeIdentity = MPS_ROLE, region: str = REGION, **extra: str | None
) -> dict[str, str]:
    """What SCF injects into the function, pointed at the fake MPS at `mps_url`: the endpoint, the
    execution role's keys, the region; then `extra` (configuration; a None value removes a variable)."""
    env: dict[str, str | None] = {
        "MPS_ENDPOINT": mps_url,
        **identity.environ(),
        "TENCENTCLOUD_REGION": region,
        **extra,
    }
    return {k: v for k, v in env.items() if v is not None}


# ---- running fakes -------------------------------------------------------------------------------


class _Running:
    """A fake serving on a loopback port until `stop()` (or the end of its `with` block)."""

    server: Any

    @property
    def url(self) -> str:
        return str(self.server.url)

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass
class FakeMps(_Running):
    """A running fake MPS: `backend` for state and faults, `server` for the wire; `identity` is
    registered (the function's execution role unless told otherwise)."""

    backend: MpsBackend
    server: FakeMpsServer
    identity: FakeIdentity = MPS_ROLE

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def clock(self) -> Callable[[], float]:
        return self.backend.clock

    @property
    def credential(self) -> Credential:
        """The registered identity as the SDK's Credential."""
        return Credential(*self.identity)

    def function_env(self, region: str = REGION, **extra: str | None) -> dict[str, str]:
        """`function_env` pointed at this fake, with its identity's keys."""
        return function_env(self.url, self.identity, region, **extra)

    def client(
        self,
        credential: Credential | None = None,
        region: str = REGION,
        timeout: float = 10,
        version: str = "2019-06-12",
    ) -> CommonClient:
        """A fresh official-SDK client (its own keep-alive connection) pointed at this fake."""
        http = HttpProfile(protocol="http", endpoint=self.host, reqTimeout=timeout)
        return CommonClient("mps", version, credential or self.credential, region, ClientProfile(httpProfile=http))


def start_mps(
    identity: FakeIdentity = MPS_ROLE, *, cos: FakeCos | CosBackend | None = None, **backend_kwargs: Any
) -> FakeMps:
    """A fake MPS (`MpsBackend(**backend_kwargs)`) accepting `identity`, serving on a loopback port.
    With `cos` (a running FakeCos or a bare CosBackend) its tasks read their inputs from and write
    their outputs into that COS when they finish (MpsBackend.finish_due_tasks). Stop it with
    `.stop()`, or use it as a context manager."""
    backend = MpsBackend(cos=cos.backend if isinstance(cos, FakeCos) else cos, **backend_kwargs)
    backend.add_credential(*identity)
    return FakeMps(backend, FakeMpsServer(backend).start(), identity)


@dataclass
class FakeCos(_Running):
    """A running fake COS: `backend` for state and faults, `server` for the wire; `bucket` exists
    in `region` and `identity` (the operator's COS keys unless told otherwise) is registered."""

    backend: CosBackend
    server: FakeCosServer
    identity: FakeIdentity = COS_ROLE
    region: str = REGION
    bucket: str = BUCKET

    @property
    def credential(self) -> FakeIdentity:
        return self.identity

    def config(
        self, credential: FakeIdentity | None = None, region: str | None = None, timeout: float = 10
    ) -> CosConfig:
        """A CosConfig that reaches this fake (IP/Port; the bucket travels in the Host header)."""
        cred = credential or self.identity
        return CosConfig(
            Region=region or self.region,
            IP=self.server.ip,
            Port=self.server.port,
            Scheme="http",
            SecretId=cred.secret_id,
            SecretKey=cred.secret_key,
            Token=cred.token,
            Timeout=timeout,
        )

    def client(
        self,
        retry: int = 1,
        credential: FakeIdentity | None = None,
        region: str | None = None,
        timeout: float = 10,
    ) -> CosS3Client:
        """An official-SDK client. Pass retry=0 where a retry would hide a fault (the SDK
        retries 5xx and network errors, sleeping 1 s first)."""
        return CosS3Client(self.config(credential, region, timeout), retry=retry)


def start_cos(
    identity: FakeIdentity = COS_ROLE, bucket: str = BUCKET, region: str = REGION, **backend_kwargs: Any
) -> FakeCos:
    """A fake COS (`CosBackend(**backend_kwargs)`) holding an empty `bucket` in `region` and accepting
    `identity`, serving on a loopback port. Stop it with `.stop()`, or use it as a context manager."""
    backend = CosBackend(**backend_kwargs)
    backend.create_bucket(bucket, region)
    backend.add_credential(*identity)
    return FakeCos(backend, FakeCosServer(backend).start(), identity, region, bucket)


# ---- the function, in one warm container ------------------------------------------------------------


class Outcome(NamedTuple):
    """One invocation: the summary (also a RecordsNotSubmittedError's; {} for the other errors) and
    the documented error raised, if any."""

    summary: dict[str, Any]
    error: BaseException | None


class WarmContainer:
    """One warm SCF container in this process: `load_function(Runtime(...))` pointed at a fake MPS.

    `mps` is a running FakeMps (its identity's keys are used) or an MPS endpoint URL (MPS_ROLE's).
    The environment is `function_env` plus `env` (a None value removes a variable), or exactly
    `environ` when given (the function reads it at every invocation: a test may change it, e.g.
    `container.environ.update(ROTATED_ROLE.environ())`, to rotate keys).
    `clock`: the function's clock (e.g. tests/clocks.py's VirtualClock); `sleep` defaults to the
    clock's own `sleep` when it has one, else to a real sleep capped at FAST_SLEEP_CAP (backoffs and
    pacing keep the real clock honest, the suite stays fast); every sleep is recorded in `sleeps`
    either way. Benchmarks and real-time rate-limit tests pass `sleep=time.sleep`.
    The JSON log goes to `stream` (default: captured, read it with `log()`, `lines()`,
    `records_logged()`); `stdout=True` writes it to sys.stdout, looked up at each write, as in SCF.
    """

    def __init__(
        self,
        mps: FakeMps | str,
        env: Mapping[str, str | None] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        region: str = REGION,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        stream: TextIO | None = None,
        stdout: bool = False,
    ) -> None:
        if environ is None:
            url, identity = (mps.url, mps.identity) if isinstance(mps, FakeMps) else (mps, MPS_ROLE)
            environ = function_env(url, identity, region, **(env or {}))
        self.environ: Any = environ
        self.stream: TextIO | None = None if stdout else (stream if stream is not None else io.StringIO())
        self.sleeps: list[float] = []
        self._sleep = sleep or getattr(clock, "sleep", None) or _capped_sleep
        extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
        self.runtime = Runtime(environ, stream=self.stream, sleep=self._record_sleep, **extra)
        self.fn: Function = load_function(self.runtime)

    def _record_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._sleep(seconds)

    def invoke(
        self, event: Any, context: Mapping[str, Any] | None = None, *, limit_ms: int | None = None
    ) -> dict[str, Any]:
        """One invocation, as SCF makes it: the summary, or the function's exception raised.
        `context` defaults to CONTEXT; `limit_ms` replaces its time_limit_in_ms."""
        ctx = dict(CONTEXT if context is None else context)
        if limit_ms is not None:
            ctx["time_limit_in_ms"] = limit_ms
        return self.fn.handle(event, ctx)

    def outcome(self, event: Any, context: Mapping[str, Any] | None = None, *, limit_ms: int | None = None) -> Outcome:
        """`invoke`, with the documented errors caught and returned (any other exception propagates)."""
        try:
            return Outcome(self.invoke(event, context, limit_ms=limit_ms), None)
        except DOCUMENTED_ERRORS as exc:
            return Outcome(getattr(exc, "summary", {}), exc)

    def log(self) -> str:
        """Everything the container logged so far (a captured stream only)."""
        if not isinstance(self.stream, io.StringIO):
            raise TypeError("the log was not captured (stdout=True or a stream of the caller's)")
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """The log, one JSON object per line."""
        return [json.loads(line) for line in self.log().splitlines()]

    def records_logged(self) -> list[dict[str, Any]]:
        """The log's per-record lines."""
        return [line for line in self.lines() if line["message"].startswith("record ")]


def _capped_sleep(seconds: float) -> None:
    time.sleep(min(seconds, FAST_SLEEP_CAP))


def upload_event(created: ObjectCreated) -> dict[str, Any]:
    """The COS trigger event for one write to the fake COS, as COS delivers it: the object's ETag,
    Content-Type and x-cos-meta-* headers in cosObject.meta (what rules and the SessionId read)."""
    from autoenhance.sample_events import cos_event, cos_record

    record = cos_record(
        created.bucket, created.region, created.key, size=created.size, event_time=int(created.time),
        content_type=created.content_type, etag=created.etag.strip('"'), metadata=dict(created.metadata),
    )  # fmt: skip
    return cos_event([record])


__all__ = [
    "BUCKET",
    "CONTEXT",
    "DOCUMENTED_ERRORS",
    "FAST_SLEEP_CAP",
    "REGION",
    "FakeCos",
    "FakeMps",
    "Outcome",
    "WarmContainer",
    "function_env",
    "start_cos",
    "start_mps",
    "upload_event",
]
