"""The fake SCF on the wire: `POST /` to scf.tencentcloudapi.com, form-encoded, signature v1.

Thin: authenticate (fakes/scf/signature.py), turn the flattened parameters
(`Environment.Variables.0.Key`) back into objects, dispatch by Action through a table to the
backend, log the call, and render `{"Response": {..., "RequestId"}}` (an error too: the real API
answers errors with HTTP 200 and the envelope).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from ..core.reply import Reply
from .backend import ScfBackend
from .exceptions import InvalidAction, ScfError
from .records import Call, JsonDict
from .signature import verify_v1

API_VERSION = "2018-04-16"
# Parameters that sign the request; never part of what the action receives or the call log keeps.
_SIGNING = frozenset({"Action", "Version", "Region", "Nonce", "Timestamp", "SecretId", "Signature",
                      "SignatureMethod", "Token", "RequestClient"})  # fmt: skip
_ACTIONS: Mapping[str, Callable[[ScfBackend, JsonDict], JsonDict]] = {
    "GetFunction": ScfBackend.get_function,
    "CreateFunction": ScfBackend.create_function,
    "UpdateFunctionCode": ScfBackend.update_function_code,
    "UpdateFunctionConfiguration": ScfBackend.update_function_configuration,
    "GetAlias": ScfBackend.get_alias,
    "ListTriggers": ScfBackend.list_triggers,
    "CreateTrigger": ScfBackend.create_trigger,
    "DeleteTrigger": ScfBackend.delete_trigger,
}


class ScfResponses:
    """The wire face of one ScfBackend: `respond()` answers one HTTP request."""

    def __init__(self, backend: ScfBackend) -> None:
        self.backend = backend

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Reply:
        path, _, query = target.partition("?")
        if method.upper() == "POST":
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        else:
            pairs = parse_qsl(query, keep_blank_values=True)
        flat = dict(pairs)
        action = flat.get("Action", "")
        params = unflatten({k: v for k, v in flat.items() if k not in _SIGNING})
        request_id = str(uuid.UUID(int=self.backend.calls.__len__() + 1))
        try:
            verify_v1(self.backend.credentials, method, headers.get("host", "").split(":")[0], path, flat)
            if flat.get("Version") != API_VERSION or action not in _ACTIONS:
                raise InvalidAction(
                    f"{action} (version {flat.get('Version')}) is not an SCF {API_VERSION} action here."
                )
            answer = _ACTIONS[action](self.backend, params)
            error_code = None
        except ScfError as error:
            answer, error_code = {"Error": {"Code": error.code, "Message": error.message}}, error.code
        self.backend.calls.record(Call(action, params, error_code, self.backend.clock()))
        body_out = json.dumps({"Response": {**answer, "RequestId": request_id}}, ensure_ascii=False).encode()
        return Reply(content_type="application/json", body=body_out)


def unflatten(flat: Mapping[str, str]) -> JsonDict:
    """`{"Code.CosBucketName": "b", "Environment.Variables.0.Key": "K"}` -> nested dicts and lists."""
    root: JsonDict = {}
    for name, value in flat.items():
        node: Any = root
        parts = name.split(".")
        for part, following in zip(parts, parts[1:]):
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
