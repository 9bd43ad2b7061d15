"""A local fake of Tencent Cloud MPS (API 2019-06-12): ProcessImage and DescribeImageTaskDetail.

Moto-style: `backend.py` holds the state and the API rules, `server.py` is the HTTP layer,
`validation.py` checks bodies against the SDK's own models, `../tc3.py` checks signatures.
The official SDK talks to it over real HTTP, with real signatures:

    backend = MpsBackend(clock=FakeClock())
    backend.add_credential("FAKEID...", "key", token="tok")
    with FakeMpsServer(backend) as server:
        ...  # HttpProfile(protocol="http", endpoint=server.host)
"""

from .backend import Call, FakeClock, Fault, MpsBackend, OutputLocation, Reply, Task
from .errors import MpsError
from .server import FakeMpsServer

__all__ = ["Call", "FakeClock", "FakeMpsServer", "Fault", "MpsBackend", "MpsError", "OutputLocation", "Reply", "Task"]
