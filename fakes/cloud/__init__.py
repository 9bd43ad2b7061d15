"""The fake Tencent Cloud control plane a deploy talks to: the HTTPS proxy in front of the fakes
(`proxy.py`, ending TLS with a per-run test CA) and COS's bucket-level PUTs for the code bucket
(`code_bucket.py`). The services themselves are fakes/scf and fakes/cos."""

from .code_bucket import CodeBucketResponses, CodeBuckets
from .proxy import CloudProxy, CloudRouter

__all__ = ["CloudProxy", "CloudRouter", "CodeBucketResponses", "CodeBuckets"]
