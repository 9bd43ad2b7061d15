"""A local fake of Tencent Cloud COS (XML API): list, head, get, put and delete objects.

Moto-style: `backend.py` holds the state and the API rules, `server.py` is the HTTP layer,
`signature.py` checks the `q-sign-algorithm=sha1` Authorization header. The official SDK
(cos-python-sdk-v5) talks to it over real HTTP, with real signatures:

    backend = CosBackend()
    backend.create_bucket("photos-1250000000", "ap-guangzhou")
    backend.add_credential("FAKEID...", "key", token="tok")
    with FakeCosServer(backend) as server:
        conf = CosConfig(Region="ap-guangzhou", IP=server.ip, Port=server.port, Scheme="http",
                         SecretId="FAKEID...", SecretKey="key", Token="tok")
        CosS3Client(conf, retry=0).head_object(Bucket="photos-1250000000", Key="a.jpg")
"""

from .backend import (
    Call,
    CosBackend,
    CosError,
    CosFault,
    ListResult,
    ObjectCreated,
    Reply,
    StoredObject,
)
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
