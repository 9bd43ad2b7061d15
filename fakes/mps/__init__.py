"""A local fake of Tencent Cloud MPS (API 2019-06-12): ProcessImage, DescribeImageTaskDetail and
DescribeUsageData.

Laid out as moto lays out a service: `backend.py` holds the account's state, its tasks' life
and one method per API action, with `outcomes.py` (what a finished task does to the wired COS),
`imaging.py` and `resize.py` (the ImageTask done on an input image's bytes, with Pillow),
`outputs.py` (where its output goes), `task_detail.py` (DescribeImageTaskDetail's answer) and
`usage.py` (DescribeUsageData's counts) beside it; `responses.py` is the wire layer (parse,
authenticate, dispatch by action name, render the envelope, apply faults), which depends on the
backend and never the reverse; `server.py` is the HTTP server that builds the wire layer around
the backend (shared parts in ../core). `exceptions.py` has one class per error code, `faults.py`
the failures tests inject, `records.py` the records kept, `validation.py` checks bodies against
the SDK's own models. The official SDK talks to it over real HTTP, with real TC3 signatures
(../tc3.py):

    backend = MpsBackend(clock=FakeClock())
    backend.add_credential("FAKEID...", "key", token="tok")
    with FakeMpsServer(backend) as server:
        ...  # HttpProfile(protocol="http", endpoint=server.host)

`MpsBackend(cos=cos_backend)` wires it to a fake COS (../cos): a finished task reads its input
object there and writes its output object, or finishes FAIL (MpsBackend.finish_due_tasks). An
input that holds an image's bytes gets its ImageTask done (docs/preview.md says how closely).
"""

from ..core.clock import FakeClock
from .backend import MpsBackend
from .exceptions import MpsError, TaskFailure
from .faults import Fault
from .outcomes import TaskOutcome
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
