"""The COS bucket-level errors the code bucket answers (the object-level ones are fakes/cos's)."""

from __future__ import annotations

from ..cos.exceptions import CosError


class BucketAlreadyOwnedByYou(CosError):
    status, code = 409, "BucketAlreadyOwnedByYou"
    default_message = "The bucket already exists and belongs to you."


class MalformedXML(CosError):
    status, code = 400, "MalformedXML"
    default_message = "The XML you provided was not well-formed."
