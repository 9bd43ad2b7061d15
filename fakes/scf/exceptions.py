"""The fake SCF's API errors: one class per wire error code (SCF API 2018-04-16 error codes).

Raised inside the backend or the signature check; fakes/scf/responses.py renders each as the
`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}` envelope every Tencent Cloud API answers.
"""

from __future__ import annotations

from ..core.exceptions import ApiError


class ScfError(ApiError):
    """An SCF API error; the HTTP status is 200 as on the real API: the envelope carries the error."""


class SecretIdNotFound(ScfError):
    code = "AuthFailure.SecretIdNotFound"
    default_message = "The SecretId is not found."


class SignatureFailure(ScfError):
    code = "AuthFailure.SignatureFailure"
    default_message = "The provided credentials could not be validated. Please check your signature is correct."


class SignatureExpire(ScfError):
    code = "AuthFailure.SignatureExpire"
    default_message = "Signature expired."


class TokenFailure(ScfError):
    code = "AuthFailure.TokenFailure"
    default_message = "The token is missing or does not belong to this SecretId."


class InvalidAction(ScfError):
    code = "InvalidAction"
    default_message = "The action is not supported by the fake SCF."


class MissingParameter(ScfError):
    code = "MissingParameter"
    default_message = "A required parameter is missing."


class InvalidParameterValue(ScfError):
    code = "InvalidParameterValue"
    default_message = "A parameter's value is invalid."


class FunctionNotFound(ScfError):
    code = "ResourceNotFound.Function"
    default_message = "The function does not exist."


class FunctionInUse(ScfError):
    code = "ResourceInUse.Function"
    default_message = "The function already exists."


class CosObjectNotFound(ScfError):
    code = "ResourceNotFound.CosObject"
    default_message = "The code package is not in the COS bucket named."


class CosBucketNotFound(ScfError):
    code = "ResourceNotFound.Cos"
    default_message = "The trigger's bucket does not exist in the function's region."


class TriggerInUse(ScfError):
    code = "ResourceInUse.Trigger"
    default_message = "A trigger with this name and description already exists."


class TriggerNotFound(ScfError):
    code = "ResourceNotFound.Trigger"
    default_message = "The trigger does not exist."
