"""A local fake of Tencent Cloud MPS (API 2019-06-12): ProcessImage and DescribeImageTaskDetail.

Laid out as moto lays out a service: `backend.py` holds the account's state and one method per
API action, `responses.py` is the wire layer (parse, authenticate, dispatch by action name,
render the envelope, apply faults), `exceptions.py` has one class per error code, `faults.py`
the failures tests inject, `records.py` the records kept, `validation.py` checks bodies
against the SDK's own models, `server.py` is the HTTP server (shared parts in ../core). The
official SDK talks to it over real HTTP, with real TC3 signatures (../tc3.py):

    backend = MpsBackend(clock=FakeClock())
    backend.add_credential("FAKEID...", "key", token="tok")
    with FakeMpsServer(backend) as server:
        ...  # HttpProfile(protocol="http", endpoint=server.host)

`MpsBackend(cos=cos_backend)` wires it to a fake COS (../cos): a finished task reads its input
object there and writes its output object, or finishes FAIL (MpsBackend.finish_due_tasks).
"""

from ..core.clock import FakeClock
from .backend import MpsBackend, TaskOutcome
from .exceptions import MpsError, TaskFailure
from .faults import Fault
from .records import Call, Caller, OutputLocation, Task
from .responses import Reply
from .server import FakeMpsServer

__all__ = [
    "Call",
    "Caller",
    "FakeClock",
    "FakeMpsServer",
    "Fault",
    "MpsBackend",
    "MpsError",
    "OutputLocation",
    "Reply",
    "Task",
    "TaskFailure",
    "TaskOutcome",
]
