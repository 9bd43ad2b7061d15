"""A local fake of Tencent Cloud SCF's control plane, and the containers that run what it deploys.

Laid out as moto lays out a service: `backend.py` holds the account's functions and triggers
with one method per API action (GetFunction, CreateFunction, UpdateFunctionCode,
UpdateFunctionConfiguration, GetAlias, ListTriggers, CreateTrigger, DeleteTrigger: what the
deploy toolkit sends), `responses.py` the wire layer (signature v1, flattened form parameters,
the JSON envelope), `exceptions.py` one class per error code, `records.py` the records, and
`container.py` how a deployed function runs (its zip unpacked read-only, its runtime's CPython).
It is reached over HTTPS through fakes/cloud/proxy.py, as the toolkit reaches
scf.tencentcloudapi.com.
"""

from .backend import PYTHON_RUNTIMES, ScfBackend
from .exceptions import ScfError
from .records import Call, Function, Invocation, Trigger
from .responses import API_VERSION, ScfResponses
from .signature import sign_v1, verify_v1

__all__ = [
    "API_VERSION",
    "PYTHON_RUNTIMES",
    "Call",
    "Function",
    "Invocation",
    "ScfBackend",
    "ScfError",
    "ScfResponses",
    "Trigger",
    "sign_v1",
    "verify_v1",
]
