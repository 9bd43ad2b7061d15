"""The Tencent Cloud API signature v1 (HmacSHA1 or HmacSHA256 over the sorted parameters).

What the deploy toolkit's API client (`@tencent-sdk/capi`) signs every SCF call with, as the
published algorithm (docs/deploying-rehearsal.md#what-it-does, step 4) defines it:

    StringToSign = METHOD + host + path + "?" + "&".join(name=value, sorted by name)
    Signature    = base64(HMAC(SecretKey, StringToSign))

Names with "_" are signed with "." in its place; values are signed as sent, not URL-encoded; the
Signature parameter itself is left out. `Timestamp` must be within 5 minutes of the server's clock.
`sign_v1` exists so tests can forge what the toolkit would never send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

from ..core.credentials import Credentials
from .exceptions import ScfError, SecretIdNotFound, SignatureExpire, SignatureFailure, TokenFailure

MAX_SKEW_SECONDS = 300
_DIGESTS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}


def string_to_sign(method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    pairs = sorted((name.replace("_", "."), value) for name, value in params.items() if name != "Signature")
    return f"{method.upper()}{host}{path}?" + "&".join(f"{name}={value}" for name, value in pairs)


def sign_v1(secret_key: str, method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    digest = _DIGESTS.get(params.get("SignatureMethod", "HmacSHA1"), hashlib.sha1)
    mac = hmac.new(secret_key.encode(), string_to_sign(method, host, path, params).encode(), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_v1(
    credentials: Credentials, method: str, host: str, path: str, params: Mapping[str, str], now: float | None = None
) -> str:
    """The caller's SecretId when the request is signed right; else the ScfError the API answers."""
    secret_id = params.get("SecretId", "")
    credential = credentials.get(secret_id)
    if credential is None:
        raise SecretIdNotFound()
    try:
        timestamp = int(params.get("Timestamp", ""))
    except ValueError:
        raise SignatureFailure("Timestamp is missing or not a number.") from None
    if abs((time.time() if now is None else now) - timestamp) > MAX_SKEW_SECONDS:
        raise SignatureExpire()
    if params.get("SignatureMethod", "HmacSHA1") not in _DIGESTS:
        raise SignatureFailure("SignatureMethod must be HmacSHA1 or HmacSHA256.")
    expected = sign_v1(credential.secret_key, method, host, path, params)
    if not hmac.compare_digest(expected, params.get("Signature", "")):
        raise SignatureFailure()
    if not credential.accepts_token(params.get("Token", "")):
        raise TokenFailure()
    return secret_id


__all__ = ["MAX_SKEW_SECONDS", "ScfError", "sign_v1", "string_to_sign", "verify_v1"]
