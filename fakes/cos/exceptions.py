"""The COS errors the fake answers, one class per wire code (`raise NoSuchKey()`).

Each carries its HTTP status; fakes/cos/responses.py renders any of them as COS's XML error
body (Code, Message, Resource, RequestId, TraceId), or as a bare status for HEAD.
"""

from __future__ import annotations

from typing import ClassVar

from ..core.exceptions import ApiError


class CosError(ApiError):
    """A COS error answer: HTTP `status`, wire `code` (e.g. "NoSuchKey") and `message`;
    `extra` adds (tag, text) elements to the error body (SignatureDoesNotMatch's StringToSign)."""

    status: ClassVar[int] = 500
    code = "InternalError"
    default_message = "We encountered an internal error. Please try again."

    def __init__(self, message: str = "", extra: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


# ---- the request itself -----------------------------------------------------------------------


class InvalidURI(CosError):
    status, code = 400, "InvalidURI"
    default_message = "Couldn't parse the specified URI."


class InvalidBucketName(CosError):
    status, code = 400, "InvalidBucketName"
    default_message = "The specified bucket is not valid."


class MethodNotAllowed(CosError):
    status, code = 405, "MethodNotAllowed"


class OperationNotImplemented(CosError):
    """What the fake answers for any API it does not implement, so a client fails loudly."""

    status, code = 501, "NotImplemented"


class InvalidArgument(CosError):
    status, code = 400, "InvalidArgument"


# ---- authentication (fakes/cos/signature.py's rejections) --------------------------------------


class AccessDenied(CosError):
    status, code = 403, "AccessDenied"


class InvalidAccessKeyId(CosError):
    status, code = 403, "InvalidAccessKeyId"


class SignatureDoesNotMatch(CosError):
    status, code = 403, "SignatureDoesNotMatch"


class RequestTimeTooSkewed(CosError):
    status, code = 403, "RequestTimeTooSkewed"


# ---- buckets and objects ------------------------------------------------------------------------


class NoSuchBucket(CosError):
    status, code = 404, "NoSuchBucket"
    default_message = "The specified bucket does not exist."


class NoSuchKey(CosError):
    status, code = 404, "NoSuchKey"
    default_message = "The specified key does not exist."


class InvalidObjectState(CosError):
    status, code = 403, "InvalidObjectState"
    default_message = "The object is archived: restore it before GET."


class InvalidRange(CosError):
    status, code = 416, "InvalidRange"
    default_message = "The requested range is not satisfiable."


class KeyTooLong(CosError):
    status, code = 400, "KeyTooLong"


class InvalidDigest(CosError):
    status, code = 400, "InvalidDigest"
    default_message = "The Content-MD5 you specified is not valid."


class BadDigest(CosError):
    status, code = 400, "BadDigest"
    default_message = "The Content-MD5 you specified did not match what was received."
