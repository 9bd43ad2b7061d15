"""The MPS API errors the fake answers, one class per wire code (`raise SessionIdInUse()`).

Codes and messages follow the API (docs/tencent-cloud.md#errors); fakes/mps/responses.py renders any
of them as the error envelope `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`. At the
end, the TaskFailure classes: why a task finished FAIL, which is no API error (see there).
"""

from __future__ import annotations

from .. import tc3
from ..core.exceptions import ApiError


class MpsError(ApiError):
    """Any MPS API error; `code` is its wire error code (e.g. "InvalidParameterValue.SessionId")."""

    code = "InternalError"
    default_message = "An internal error has occurred."


# ---- authentication (tc3.verify's codes, and the token rule) ---------------------------------------


class InvalidAuthorization(MpsError):
    code = tc3.INVALID_AUTHORIZATION
    default_message = "Authorization header is missing or malformed, or signs the wrong service."


class SignatureExpire(MpsError):
    code = tc3.SIGNATURE_EXPIRE
    default_message = "Signature expired: X-TC-Timestamp is more than 300 s from the server time."


class SecretIdNotFound(MpsError):
    code = tc3.SECRET_ID_NOT_FOUND
    default_message = "The SecretId is not found, please ensure that your SecretId is correct."


class SignatureFailure(MpsError):
    code = tc3.SIGNATURE_FAILURE
    default_message = "The provided credentials could not be validated. Please check your signature."


class TokenFailure(MpsError):
    code = "AuthFailure.TokenFailure"
    default_message = "The token is invalid or does not match the SecretId."


# ---- the common parameters -----------------------------------------------------------------------


class NoSuchVersion(MpsError):
    code = "NoSuchVersion"


class InvalidAction(MpsError):
    code = "InvalidAction"


class UnsupportedRegion(MpsError):
    code = "UnsupportedRegion"


class UnsupportedProtocol(MpsError):
    code = "UnsupportedProtocol"
    default_message = "The fake MPS implements only POST with a JSON body."


class RequestLimitExceeded(MpsError):
    code = "RequestLimitExceeded"


# ---- the request body (fakes/mps/validation.py raises most of these) ------------------------------


class InvalidParameter(MpsError):
    code = "InvalidParameter"


class UnknownParameter(MpsError):
    code = "UnknownParameter"


class MissingParameter(MpsError):
    code = "MissingParameter"


class InvalidParameterValue(MpsError):
    code = "InvalidParameterValue"


class SessionIdTooLong(MpsError):
    code = "InvalidParameterValue.SessionIdTooLong"


class SessionContextTooLong(MpsError):
    code = "InvalidParameterValue.SessionContextTooLong"


# ---- the actions ---------------------------------------------------------------------------------


class SessionIdInUse(MpsError):
    code = "InvalidParameterValue.SessionId"
    default_message = "The deduplication ID already exists. The request is removed due to duplication."


class ResourceNotFound(MpsError):
    code = "ResourceNotFound"


# ---- task failures: not API errors ---------------------------------------------------------------
#
# The API call that reports them succeeds: DescribeImageTaskDetail answers a FINISH task whose ErrCode,
# ErrMsg and Message (and its result's ErrMsg and Message) say why it failed. ErrMsg takes the media-
# processing error codes (docs/tencent-cloud.md#what-the-fake-mps-does-with-the-bucket); ErrCode is an
# int the documentation gives no values for, so the numbers are the fake's own.


class TaskFailure(ApiError):
    """Why a task finished FAIL: `code` goes to ErrMsg, `err_code` to ErrCode, `message` to Message."""

    code = "InternalError"
    err_code = 70000
    default_message = "Internal service error. Please try again."


class SourceFileError(TaskFailure):
    code = "SourceFileError"
    err_code = 60000
    default_message = "Source file error: check that the source file exists and is a readable image."


class InvalidInput(TaskFailure):
    code = "InvalidInput"
    err_code = 40000
    default_message = "Invalid input parameter: check the task's parameters."
