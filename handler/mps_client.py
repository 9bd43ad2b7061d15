"""The one place that talks to MPS: ProcessImage through the official SDK's generic client.

`CommonClient.call_json` is used instead of the typed `MpsClient` because the typed
`ProcessImageRequest` model has no SessionId field and would silently drop it
(docs/tencent-cloud.md#typed-models), and because importing the typed client loads the 100k-line models
module at every cold start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any, Callable

# requests warns once at import when no character-detection package is installed; the package
# leaves charset-normalizer out on purpose (handler/requirements.txt). Only that warning.
warnings.filterwarnings("ignore", message="Unable to find acceptable character detection", module="requests")

from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from .config import Endpoint
from .credentials import Credentials
from .errors import (
    CLIENT_ERROR,
    INVALID_RESPONSE,
    NETWORK_CONNECT_FAILED,
    NETWORK_CONNECTION_LOST,
    NETWORK_DEADLINE,
    UNKNOWN_ERROR,
    MpsCallError,
)
from .log import REDACTED, Redactor
from .transport import LeanSession, call_deadline, install_deadline, transport_error_code

MPS_VERSION = "2019-06-12"
SDK_LOGGER = "tencentcloud_sdk_common"  # the logger every SDK module writes to


class _SdkLogScrubber(logging.Filter):
    """The SDK logs every request's headers (X-TC-Token included) and every answer at DEBUG.

    The function never enables that, but a runtime or user that sets the root logger to DEBUG
    would print the session token: scrub the token header and the known secrets from each
    record the SDK logs (a filter runs only for records that are actually emitted).
    """

    _TOKEN_HEADER = re.compile(r"(X-TC-Token\s*[:=]\s*)[^\s,'\"}]+", re.IGNORECASE)
    _KEEP = 8  # most recent credentials remembered (SCF rotates the role's keys)

    def __init__(self) -> None:
        super().__init__()
        self._recent: list[Credentials] = []
        self._lock = threading.Lock()  # containers of one process (tests, the soak) share the SDK logger
        self._redact = Redactor(())
        self._calling = threading.local()  # the SDK logs in the calling thread

    @contextlib.contextmanager
    def redacting(self, redact: Callable[[str], str]) -> Iterator[None]:
        """Also apply an invocation's redactor (its uploaders' Authorization headers) meanwhile."""
        self._calling.redact = redact
        try:
            yield
        finally:
            self._calling.redact = None

    def remember(self, credentials: Credentials) -> None:
        with self._lock:
            self._recent = [c for c in self._recent if c != credentials][-(self._KEEP - 1) :] + [credentials]
            self._redact = Redactor(s for c in self._recent for s in (c.secret_key, c.token))

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = self._redact(text)
        invocation = getattr(self._calling, "redact", None)
        if invocation is not None:
            clean = invocation(clean)
        clean = self._TOKEN_HEADER.sub(r"\g<1>" + REDACTED, clean)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_scrubber = _SdkLogScrubber()
logging.getLogger(SDK_LOGGER).addFilter(_scrubber)
sdk_log_redaction = _scrubber.redacting


MAX_ERROR_CHARS = 2000  # of an error message kept from an answer


def _call_error(exc: Exception, timeout: float) -> MpsCallError:
    """What went wrong with one call, as the code the retry policy classifies."""
    if isinstance(exc, TencentCloudSDKException) and exc.code != "ClientNetworkError":
        # MPS's own error envelope, or the SDK's code for a non-200 status (ServerNetworkError), whose
        # message is the whole body: a gateway's error page is cut, so the record's line stays short.
        message = exc.message.decode("utf-8", "replace") if isinstance(exc.message, bytes) else str(exc.message or "")
        if len(message) > MAX_ERROR_CHARS:
            message = message[:MAX_ERROR_CHARS] + f"... ({len(message)} characters)"
        return MpsCallError(str(exc.code or CLIENT_ERROR), message, str(exc.requestId or ""))
    code = transport_error_code(exc)
    # The SDK wraps what fails before the answer's headers arrive; what it raises raw came later.
    if isinstance(exc, TencentCloudSDKException):
        detail = str(exc.message)
    else:
        detail = f"{type(exc).__name__}: {exc}"
        if code == NETWORK_CONNECT_FAILED:
            code = NETWORK_CONNECTION_LOST  # raised while reading an answer: the request did reach MPS
    if code == NETWORK_DEADLINE:
        return MpsCallError(code, f"no complete answer within {timeout:.2f} s, the time this call had: {detail}")
    if code is not None:
        return MpsCallError(code, detail)
    if isinstance(exc, TencentCloudSDKException):
        return MpsCallError("ClientNetworkError", detail)
    if isinstance(exc, ValueError):  # a 200 whose body is not JSON (proxy page, truncated body)
        return MpsCallError(INVALID_RESPONSE, f"MPS answer is not JSON: {exc}")
    if isinstance(exc, (KeyError, TypeError)):
        # JSON without the envelope's shape ({}, null, an Error without Code/Message): the SDK's
        # error check indexes into it blindly and raises these instead of its own exception.
        return MpsCallError(INVALID_RESPONSE, f"MPS answer has no readable Response: {exc!r}")
    # Not a transport fault: a defect here or in the SDK. Permanent, so it is not retried blindly.
    return MpsCallError(f"ClientError.{type(exc).__name__}", str(exc))


class MpsApi:
    """A keep-alive MPS client for one region; reuse it across records and invocations."""

    def __init__(
        self,
        endpoint: Endpoint,
        region: str,
        credentials: Credentials,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,  # what the call's deadline is measured on
    ):
        self._clock = clock
        # Of the last call's time, how long this process had nothing to run (its real time less the
        # process's CPU meanwhile, every thread): the wait that more calls in flight can overlap.
        # A measurement of this machine, not a deadline: real clocks, whatever clock is injected.
        self.waited: float | None = None
        http = HttpProfile(protocol=endpoint.scheme, endpoint=endpoint.host, reqTimeout=timeout)
        # en-US: error messages end up in logs read by people who may not read Chinese.
        profile = ClientProfile(httpProfile=http, language="en-US")
        self._credentials = credentials
        _scrubber.remember(credentials)
        self._client = CommonClient("mps", MPS_VERSION, Credential(*credentials), region, profile)
        # requests would re-read proxy variables and look for ~/.netrc at every call (a third of the
        # CPU of a warm call); the SDK already read HTTPS_PROXY/HTTP_PROXY and NO_PROXY when it was
        # built and passes them explicitly, so only ALL_PROXY stops working (docs/tencent-cloud.md#proxies).
        # LeanSession has trust_env off and prepares the SDK's calls without per-call cookie jars
        # and URL parsing (handler/transport.py).
        self._client.request.conn._session.close()  # unused yet: the SDK makes it, we replace it
        session = self._client.request.conn._session = LeanSession()
        install_deadline(session)

    def _use(self, credentials: Credentials, timeout: float) -> None:
        if credentials != self._credentials:
            # SCF rotates the role's temporary keys; swap them in without dropping the
            # pooled connection.
            self._client.credential = Credential(*credentials)
            self._credentials = credentials
            _scrubber.remember(credentials)
        # The SDK fixes its timeout at construction (HttpProfile.reqTimeout); the invocation's
        # remaining time shrinks per call, so set it on the underlying connection object.
        self._client.request.conn.timeout = timeout

    def call(self, action: str, params: dict[str, Any], credentials: Credentials, timeout: float) -> dict[str, Any]:
        """One call, over within `timeout` seconds whatever the server does; every failure is an MpsCallError."""
        self._use(credentials, timeout)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            with call_deadline(timeout, self._clock):
                envelope = self._client.call_json(action, params)
        except Exception as exc:  # noqa: BLE001  (the edge: nothing but MpsCallError leaves it)
            raise _call_error(exc, timeout) from None
        finally:
            self.waited = max(0.0, (time.perf_counter() - started) - (time.process_time() - cpu))
        response = envelope.get("Response") if isinstance(envelope, dict) else None
        if not isinstance(response, dict):
            raise MpsCallError(INVALID_RESPONSE, f"MPS answer has no Response object: {json.dumps(envelope)[:200]}")
        error = response.get("Error")
        if isinstance(error, dict):
            # The SDK only detects errors when Content-Type is exactly application/json
            # (docs/tencent-cloud.md#error-detection); anything else reaches us as a "success" envelope.
            raise MpsCallError(
                str(error.get("Code", UNKNOWN_ERROR)),
                str(error.get("Message", "")),
                str(response.get("RequestId", "")),
            )
        return response

    def process_image(self, params: dict[str, Any], credentials: Credentials, timeout: float) -> tuple[str, str]:
        response = self.call("ProcessImage", params, credentials, timeout)
        task_id = response.get("TaskId")
        if not isinstance(task_id, str) or not task_id:
            raise MpsCallError(
                INVALID_RESPONSE, "ProcessImage answer has no TaskId", str(response.get("RequestId", ""))
            )
        return task_id, str(response.get("RequestId", ""))
