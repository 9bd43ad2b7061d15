"""A local fake of Tencent Cloud COS (XML API): list, head, get, put and delete objects.

Laid out as moto lays out a service: `backend.py` holds the account's buckets and objects and
one method per API action, `store.py` how objects are kept and listed, `responses.py` is the
wire layer (parse, authenticate, dispatch by operation name, render headers and XML, apply
faults), which depends on the backend and never the reverse, `server.py` is the HTTP server
that builds the wire layer around the backend (shared parts in ../core). `exceptions.py` has
one class per error code, `faults.py` the failures tests inject, `records.py` the records
handed out, `signature.py` checks the `q-sign-algorithm=sha1` Authorization header. The
official SDK (cos-python-sdk-v5) talks to it over real HTTP, with real signatures:

    backend = CosBackend()
    backend.create_bucket("photos-1250000000", "ap-guangzhou")
    backend.add_credential("FAKEID...", "key", token="tok")
    with FakeCosServer(backend) as server:
        conf = CosConfig(Region="ap-guangzhou", IP=server.ip, Port=server.port, Scheme="http",
                         SecretId="FAKEID...", SecretKey="key", Token="tok")
        CosS3Client(conf, retry=0).head_object(Bucket="photos-1250000000", Key="a.jpg")
"""

from ..core.reply import Reply
from .backend import CosBackend
from .exceptions import CosError
from .faults import CosFault
from .records import Call, ListResult, ObjectCreated, StoredObject
from .server import FakeCosServer
from .signature import sign_cos

__all__ = [
    "Call",
    "CosBackend",
    "CosError",
    "CosFault",
    "FakeCosServer",
    "ListResult",
    "ObjectCreated",
    "Reply",
    "StoredObject",
    "sign_cos",
]
