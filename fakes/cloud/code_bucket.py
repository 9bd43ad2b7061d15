"""COS as the deploy sees it: the code bucket, in front of the fake COS that holds the user's buckets.

The Framework's scf component creates `sls-cloudfunction-<region>-code-<appid>` (PUT Bucket; an
existing one answers BucketAlreadyOwnedByYou, which the toolkit accepts), gives it a lifecycle
rule (PUT Bucket lifecycle) and uploads the code zip (PUT Object). The fake COS implements object
operations only, and refuses that bucket's name (its domain is longer than the 60 characters the
COS console allows, yet it is the name Tencent's own component uses), so the code buckets live
here: `CodeBuckets` keeps them, `CodeBucketResponses` answers those three PUTs, signed as COS
checks any request (fakes/cos/signature.py), and hands every other request to the fake COS.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from email.utils import formatdate
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from ..core.reply import Reply
from ..cos import CosBackend
from ..cos import signature as cos_signature
from ..cos.exceptions import AccessDenied, CosError, InvalidAccessKeyId, NoSuchBucket, NoSuchKey, SignatureDoesNotMatch
from ..cos.responses import CosResponses
from .exceptions import BucketAlreadyOwnedByYou, MalformedXML

_HOST = re.compile(r"(?P<bucket>[^.]+)\.cos\.(?P<region>[a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)")
_REJECTIONS = {
    cos_signature.ACCESS_DENIED: AccessDenied,
    cos_signature.INVALID_ACCESS_KEY_ID: InvalidAccessKeyId,
    cos_signature.SIGNATURE_DOES_NOT_MATCH: SignatureDoesNotMatch,
}


class CodeBuckets:
    """The deploy's code buckets: bucket -> region, (bucket, key) -> bytes, bucket -> lifecycle XML."""

    def __init__(self) -> None:
        self.regions: dict[str, str] = {}
        self.objects: dict[tuple[str, str], bytes] = {}
        self.lifecycles: dict[str, str] = {}
        self.calls: list[tuple[str, str, str | None]] = []  # (operation, bucket, error code)

    def put_bucket(self, bucket: str, region: str) -> None:
        if bucket in self.regions:
            raise BucketAlreadyOwnedByYou()
        self.regions[bucket] = region

    def put_bucket_lifecycle(self, bucket: str, body: bytes) -> None:
        if bucket not in self.regions:
            raise NoSuchBucket()
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise MalformedXML() from None
        if root.tag != "LifecycleConfiguration" or root.find("Rule") is None:
            raise MalformedXML("A LifecycleConfiguration with at least one Rule is required.")
        self.lifecycles[bucket] = body.decode("utf-8")

    def put_object(self, bucket: str, key: str, body: bytes) -> str:
        if bucket not in self.regions:
            raise NoSuchBucket()
        self.objects[(bucket, key)] = body
        return '"' + hashlib.md5(body).hexdigest() + '"'

    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes (what SCF reads when it takes the code), or NoSuchKey."""
        if (bucket, key) not in self.objects:
            raise NoSuchKey()
        return self.objects[(bucket, key)]


class CodeBucketResponses:
    """`respond()` as CosResponses has it: the code buckets' PUTs here, every other request to the fake COS."""

    def __init__(self, backend: CosBackend, code: CodeBuckets) -> None:
        self.backend = backend  # the user's buckets, and the keys both accept
        self.code = code
        self.objects = CosResponses(backend)

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Reply:
        raw_path, _, query = target.partition("?")
        host = _HOST.fullmatch(headers.get("host", "").split(":", 1)[0])
        if method.upper() != "PUT" or host is None or (raw_path != "/" and host["bucket"] not in self.code.regions):
            return self.objects.respond(method, target, headers, body)
        params = dict(parse_qsl(query, keep_blank_values=True))
        key = unquote(raw_path[1:])
        operation = "PutObject" if key else ("PutBucketLifecycle" if "lifecycle" in params else "PutBucket")
        bucket, region = host["bucket"], host["region"]
        answer: tuple[tuple[str, str], ...] = ()
        try:
            self._authenticate(method, "/" + key, params, headers)
            if operation == "PutBucket":
                self.code.put_bucket(bucket, region)
            elif operation == "PutBucketLifecycle":
                self.code.put_bucket_lifecycle(bucket, body)
            else:
                answer = (("ETag", self.code.put_object(bucket, key, body)),)
        except CosError as error:
            self.code.calls.append((operation, bucket, error.code))
            return _error(error, headers.get("host", "") + target, self.backend.new_request_id())
        self.code.calls.append((operation, bucket, None))
        request_id = ("x-cos-request-id", self.backend.new_request_id())
        return Reply(headers=(*answer, request_id, ("Date", formatdate(usegmt=True)), ("Server", "tencent-cos")))

    def _authenticate(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> None:
        auth = cos_signature.parse_authorization(headers.get("authorization"))
        credential = self.backend.credentials.get(auth.secret_id) if auth else None
        rejection = cos_signature.verify(
            auth,
            credential.secret_key if credential else None,
            method=method,
            path=path,
            params=params,
            headers=headers,
        )
        if rejection is not None:
            raise _REJECTIONS.get(rejection.code, AccessDenied)(rejection.message)
        if credential is not None and not credential.accepts_token(headers.get("x-cos-security-token", "")):
            raise InvalidAccessKeyId(
                "The x-cos-security-token is missing, invalid, or does not belong to this SecretId."
            )


def _error(error: CosError, resource: str, request_id: str) -> Reply:
    # With no x-cos-request-id the COS SDKs take the answer for a network error and retry at the
    # backup domain (<bucket>.cos.<region>.tencentcos.cn): every COS answer carries one.
    body = (
        f"<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message><Resource>{escape(resource)}</Resource>"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()
    headers = (("Content-Type", "application/xml"), ("x-cos-request-id", request_id))
    return Reply(error.status, headers, body=body)
