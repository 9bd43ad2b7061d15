"""The one place that talks to MPS: ProcessImage through the official SDK's generic client.

`CommonClient.call_json` is used instead of the typed `MpsClient` because the typed
`ProcessImageRequest` model has no SessionId field and would silently drop it
(tencent-spec.md §0.2), and because importing the typed client loads the 100k-line models
module at every cold start.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from .config import Endpoint

MPS_VERSION = "2019-06-12"


class Credentials(NamedTuple):
    secret_id: str
    secret_key: str
    token: str | None


class MpsCallError(Exception):
    def __init__(self, code: str, message: str, request_id: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


class MpsApi:
    """A keep-alive MPS client for one region; reuse it across records and invocations."""

    def __init__(self, endpoint: Endpoint, region: str, credentials: Credentials, timeout: float):
        http = HttpProfile(protocol=endpoint.scheme, endpoint=endpoint.host, reqTimeout=timeout)
        # en-US: error messages end up in logs read by people who may not read Chinese.
        profile = ClientProfile(httpProfile=http, language="en-US")
        self._credentials = credentials
        self._client = CommonClient("mps", MPS_VERSION, Credential(*credentials), region, profile)

    def _use(self, credentials: Credentials, timeout: float) -> None:
        if credentials != self._credentials:
            # SCF rotates the role's temporary keys; swap them in without dropping the
            # pooled connection.
            self._client.credential = Credential(*credentials)
            self._credentials = credentials
        # The SDK fixes its timeout at construction (HttpProfile.reqTimeout); the invocation's
        # remaining time shrinks per call, so set it on the underlying connection object.
        self._client.request.conn.timeout = timeout

    def call(self, action: str, params: dict[str, Any], credentials: Credentials, timeout: float) -> dict[str, Any]:
        self._use(credentials, timeout)
        try:
            envelope = self._client.call_json(action, params)
        except TencentCloudSDKException as exc:
            raise MpsCallError(
                str(exc.code or "ClientError"), str(exc.message or ""), str(exc.requestId or "")
            ) from None
        except ValueError as exc:  # a 200 whose body is not JSON (proxy page, truncated body)
            raise MpsCallError("InvalidResponse", f"MPS answer is not JSON: {exc}") from None
        response = envelope.get("Response") if isinstance(envelope, dict) else None
        if not isinstance(response, dict):
            raise MpsCallError("InvalidResponse", f"MPS answer has no Response object: {json.dumps(envelope)[:200]}")
        error = response.get("Error")
        if isinstance(error, dict):
            # The SDK only detects errors when Content-Type is exactly application/json
            # (tencent-spec.md §0.3); anything else reaches us as a "success" envelope.
            raise MpsCallError(
                str(error.get("Code", "UnknownError")),
                str(error.get("Message", "")),
                str(response.get("RequestId", "")),
            )
        return response

    def process_image(self, params: dict[str, Any], credentials: Credentials, timeout: float) -> tuple[str, str]:
        response = self.call("ProcessImage", params, credentials, timeout)
        task_id = response.get("TaskId")
        if not isinstance(task_id, str) or not task_id:
            raise MpsCallError(
                "InvalidResponse", "ProcessImage answer has no TaskId", str(response.get("RequestId", ""))
            )
        return task_id, str(response.get("RequestId", ""))
