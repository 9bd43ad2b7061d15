"""TC3-HMAC-SHA256, the signature of Tencent Cloud API 3.0 (docs/tencent-cloud.md#signature-v3).

Written from the published algorithm with hmac/hashlib only: reusing the SDK's signer would let
a bug in it sign and verify its own mistakes. `verify` is what the fake servers call;
`sign_tc3` lets tests forge requests the SDK would never send (old timestamps, other
services, extra signed headers).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

INVALID_AUTHORIZATION = "AuthFailure.InvalidAuthorization"
SIGNATURE_EXPIRE = "AuthFailure.SignatureExpire"
SIGNATURE_FAILURE = "AuthFailure.SignatureFailure"
SECRET_ID_NOT_FOUND = "AuthFailure.SecretIdNotFound"

_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/\s,]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/\s,]+)/tc3_request,"
    r"\s*SignedHeaders=(?P<headers>[a-z0-9-]+(?:;[a-z0-9-]+)*),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Authorization | None:
    """None when the header is missing or not a TC3 header (-> AuthFailure.InvalidAuthorization)."""
    match = _AUTHORIZATION.fullmatch((value or "").strip())
    if not match:
        return None
    return Authorization(
        match["id"], match["date"], match["service"], tuple(match["headers"].split(";")), match["signature"]
    )


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _utc_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _signature(
    secret_key: str,
    *,
    date: str,
    service: str,
    timestamp: str,
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    body: bytes,
    method: str,
    query: str,
) -> str:
    """`headers` must have lowercase keys; a signed header that is absent signs as empty."""
    names = list(signed_headers)
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip().lower()}\n" for n in names)
    unsigned = headers.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD
    payload_hash = hashlib.sha256(UNSIGNED_PAYLOAD.encode() if unsigned else body).hexdigest()
    canonical_request = "\n".join([method, "/", query, canonical_headers, ";".join(names), payload_hash])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, timestamp, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(
    auth: Authorization,
    secret_key: str | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    service: str,
    method: str = "POST",
    query: str = "",
    now: float | None = None,
) -> str | None:
    """The wire error code for this request, or None when the signature holds.

    `secret_key` is None when the SecretId is unknown. Skew is measured against the real
    clock (`now` defaults to time.time()), like the real gateway's.
    """
    lowered = _lower_keys(headers)
    if auth.service != service:
        return INVALID_AUTHORIZATION
    # The API documentation requires content-type and host to be among the signed headers.
    if not {"content-type", "host"} <= set(auth.signed_headers):
        return INVALID_AUTHORIZATION
    raw_timestamp = lowered.get("x-tc-timestamp", "")
    if not raw_timestamp.isdigit():
        return INVALID_AUTHORIZATION
    timestamp = int(raw_timestamp)
    if abs((time.time() if now is None else now) - timestamp) > MAX_SKEW_SECONDS:
        return SIGNATURE_EXPIRE
    if secret_key is None:
        return SECRET_ID_NOT_FOUND
    if auth.date != _utc_date(timestamp):
        return SIGNATURE_FAILURE
    expected = _signature(
        secret_key,
        date=auth.date,
        service=auth.service,
        timestamp=raw_timestamp,
        headers=lowered,
        signed_headers=auth.signed_headers,
        body=body,
        method=method.upper(),
        query=query,
    )
    return None if hmac.compare_digest(expected, auth.signature) else SIGNATURE_FAILURE


def sign_tc3(
    secret_id: str,
    secret_key: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    service: str = "mps",
    method: str = "POST",
    query: str = "",
    signed_headers: Iterable[str] = ("content-type", "host"),
) -> str:
    """The Authorization header value for a request with these headers (incl. X-TC-Timestamp) and body."""
    lowered = _lower_keys(headers)
    ts = int(lowered["x-tc-timestamp"])
    names = sorted(h.lower() for h in signed_headers)
    date = _utc_date(ts)
    signature = _signature(
        secret_key,
        date=date,
        service=service,
        timestamp=str(ts),
        headers=lowered,
        signed_headers=names,
        body=body,
        method=method.upper(),
        query=query,
    )
    return (
        f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
