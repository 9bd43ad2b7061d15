"""The fake MPS's wire layer: an API 3.0 request in, its JSON envelope out, faults applied.

It checks what every action shares (TC3 signature and token, X-TC-Version, the action name,
X-TC-Region, POST with a JSON object body, the rate limit), then calls the backend method the
action table names, and wraps its answer, or the MpsError it raised, in the envelope MPS
sends. Injected faults are taken here, because only the wire layer knows whether the request
was processed before its answer went wrong. The server builds one around the backend it
serves; the backend knows nothing of it, so `MpsResponses(backend).handle(...)` answers a
request without HTTP.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from .. import tc3
from ..core.reply import Reply as _Reply
from .backend import MpsBackend
from .exceptions import (
    InvalidAction,
    InvalidAuthorization,
    InvalidParameter,
    MpsError,
    NoSuchVersion,
    SecretIdNotFound,
    SignatureExpire,
    SignatureFailure,
    TokenFailure,
    UnsupportedProtocol,
    UnsupportedRegion,
)
from .faults import Fault
from .records import Call, Caller, JsonDict

API_VERSION = "2019-06-12"
SERVICE = "mps"
# Action name -> the MpsBackend method that carries it out.
ACTIONS: Mapping[str, str] = {
    "ProcessImage": "process_image",
    "DescribeImageTaskDetail": "describe_image_task_detail",
    "DescribeUsageData": "describe_usage_data",
}
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
_AUTH_ERRORS: Mapping[str, type[MpsError]] = {
    tc3.INVALID_AUTHORIZATION: InvalidAuthorization,
    tc3.SIGNATURE_EXPIRE: SignatureExpire,
    tc3.SECRET_ID_NOT_FOUND: SecretIdNotFound,
    tc3.SIGNATURE_FAILURE: SignatureFailure,
}


@dataclass(frozen=True)
class Reply(_Reply):
    """An MPS answer: JSON unless said otherwise."""

    content_type: str | None = "application/json"


class MpsResponses:
    """The wire face of one MpsBackend: `respond()` is what the server calls for each request."""

    def __init__(self, backend: MpsBackend) -> None:
        self.backend = backend

    def respond(
        self, action: str, headers: Mapping[str, str], body: bytes, method: str = "POST", query: str = ""
    ) -> Reply:
        """Answer one HTTP request, injected faults included."""
        backend = self.backend
        if backend.latency_seconds:
            time.sleep(backend.latency_seconds)  # before the backend acts, like a request in flight
        fault = backend.faults.next(action)
        if fault is None:
            return _json_reply(self.handle(action, headers, body, method, query))
        if fault.refuses:
            backend.calls.record(Call(action, _params_of(body), fault.code or None, backend.clock(), fault.kind))
            refused: Reply = getattr(self, "_refuse_" + fault.kind)(fault)
            return refused
        # Processed for real (the task is created), then the answer goes wrong on the way.
        shaped = fault.shape(_json_reply(self._handle(action, headers, body, method, query, fault.kind)))
        assert isinstance(shaped, Reply)
        return shaped

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
                raise NoSuchVersion(f"The API version `{lowered.get('x-tc-version')}` does not exist.")
            if action not in ACTIONS:
                raise InvalidAction(f"The action `{action}` is not supported.")
            region = lowered.get("x-tc-region", "")
            if region and region not in MPS_REGIONS:
                raise UnsupportedRegion(f"The region `{region}` is not supported.")
            if method != "POST":
                raise UnsupportedProtocol()
            if lowered.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                raise InvalidParameter("Content-Type must be application/json.")
            params = _parse_body(body)
            self.backend.admit(action, secret_id)
            response = getattr(self.backend, ACTIONS[action])(params, Caller(secret_id, region))
        except MpsError as e:
            self._record(action, params, e.code, fault)
            return _error_envelope(e.code, e.message)
        self._record(action, params, None, fault)
        return {"Response": {**response, "RequestId": str(uuid.uuid4())}}

    def _authenticate(self, headers: Mapping[str, str], body: bytes, method: str, query: str) -> str:
        auth = tc3.parse_authorization(headers.get("authorization"))
        if auth is None:
            raise InvalidAuthorization()
        credential = self.backend.credentials.get(auth.secret_id)
        key = credential.secret_key if credential else None
        code = tc3.verify(auth, key, headers, body, service=SERVICE, method=method, query=query)
        if code:
            raise _AUTH_ERRORS[code]()
        assert credential is not None
        if not credential.accepts_token(headers.get("x-tc-token", "")):
            raise TokenFailure()
        return auth.secret_id

    def _record(self, action: str, params: JsonDict, error_code: str | None, fault: str | None) -> None:
        self.backend.calls.record(Call(action, params, error_code, self.backend.clock(), fault))

    # ---- injected refusals: answered without processing anything --------------------------------

    def _refuse_error(self, fault: Fault) -> Reply:
        return _json_reply(_error_envelope(fault.code, fault.message))

    def _refuse_http_status(self, fault: Fault) -> Reply:
        return Reply(fault.status, body=f"{fault.status} injected fault".encode(), content_type="text/plain")

    def _refuse_drop(self, fault: Fault) -> Reply:
        return Reply(drop=True)


def _parse_body(body: bytes) -> JsonDict:
    try:
        params = json.loads(body)
    except ValueError:
        raise InvalidParameter("The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise InvalidParameter("The request body must be a JSON object.")
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
