"""The COS XML API request signature, `q-sign-algorithm=sha1` (docs/tencent-cloud.md#cos-signature).

Written from the published algorithm with hmac/hashlib only: reusing the SDK's signer
(qcloud_cos/cos_auth.py) would let a bug in it sign and verify its own mistakes. `verify` is what
the fake COS calls; `sign_cos` lets tests forge requests the SDK would never send (expired
sign times, other keys, missing tokens).

    Authorization: q-sign-algorithm=sha1&q-ak=<SecretId>&q-sign-time=<t0>;<t1>&q-key-time=<t0>;<t1>
                   &q-header-list=<h1;h2>&q-url-param-list=<p1;p2>&q-signature=<hex>

    SignKey      = hex(HMAC-SHA1(SecretKey, KeyTime))
    HttpString   = lower(method) \\n unencoded path \\n p1=v1&p2=v2 \\n h1=v1&h2=v2 \\n
    StringToSign = sha1 \\n KeyTime \\n hex(SHA1(HttpString)) \\n
    Signature    = hex(HMAC-SHA1(SignKey, StringToSign))

Parameter and header names are lowercased and URL-encoded, values URL-encoded (safe `-_.~`),
both sorted by name. Only the names listed in q-url-param-list / q-header-list are signed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote

ALGORITHM = "sha1"
DATE_SKEW_SECONDS = 15 * 60  # a Date header further than this from the server clock is refused

# The error codes COS answers, all with HTTP 403 (COS error-code list, doc 436/7730, and the
# "403 Error for COS Access" troubleshooting page, doc 436/40105).
ACCESS_DENIED = "AccessDenied"  # no/malformed Authorization; also an expired q-sign-time
INVALID_ACCESS_KEY_ID = "InvalidAccessKeyId"  # unknown q-ak; also a missing/wrong security token
SIGNATURE_DOES_NOT_MATCH = "SignatureDoesNotMatch"
REQUEST_TIME_TOO_SKEWED = "RequestTimeTooSkewed"  # the Date header, when sent, is off by > 15 min

_FIELDS = ("q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature")


@dataclass(frozen=True)
class CosAuthorization:
    """The parsed Authorization header. Times are (start, end) Unix seconds."""

    secret_id: str
    sign_time: tuple[int, int]
    key_time: str  # kept verbatim: it is hashed as sent
    header_list: tuple[str, ...]
    param_list: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused: the COS error code and message (HTTP status is always 403).

    `string_to_sign` / `format_string` are set for SignatureDoesNotMatch: real COS echoes them in
    the error body so a client author can diff them against their own.
    """

    code: str
    message: str
    string_to_sign: str = ""
    format_string: str = ""


def parse_authorization(value: str | None) -> CosAuthorization | None:
    """None when the header is missing or is not a complete `q-sign-algorithm=sha1` header."""
    if not value:
        return None
    fields: dict[str, str] = {}
    for part in value.strip().split("&"):
        name, sep, field = part.partition("=")
        if not sep:
            return None
        fields[name] = field
    if any(name not in fields for name in _FIELDS) or fields["q-sign-algorithm"] != ALGORITHM:
        return None
    sign_time = _time_range(fields["q-sign-time"])
    if sign_time is None or _time_range(fields["q-key-time"]) is None or not fields["q-ak"]:
        return None
    return CosAuthorization(
        secret_id=fields["q-ak"],
        sign_time=sign_time,
        key_time=fields["q-key-time"],
        header_list=_name_list(fields["q-header-list"]),
        param_list=_name_list(fields["q-url-param-list"]),
        signature=fields["q-signature"].lower(),
    )


def verify(
    auth: CosAuthorization | None,
    secret_key: str | None,
    *,
    method: str,
    path: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    now: float | None = None,
) -> Rejection | None:
    """None when the signature holds, else the Rejection COS would answer.

    `path` is the percent-DECODED request path with its leading "/" (what the SDK signs);
    `params` the decoded query parameters; `headers` the request headers with lowercase names;
    `secret_key` None when q-ak is unknown. Times are checked against the real clock (`now`
    defaults to time.time()), because the SDK signs with the real clock.
    """
    if auth is None:
        if headers.get("authorization"):
            return Rejection(ACCESS_DENIED, "The Authorization header is malformed.")
        return Rejection(ACCESS_DENIED, "Access Denied.")
    if secret_key is None:
        return Rejection(INVALID_ACCESS_KEY_ID, "The Access Key Id you provided does not exist in our records.")
    current = time.time() if now is None else now
    start, end = auth.sign_time
    if current > end:
        return Rejection(ACCESS_DENIED, "Request has expired")
    if current < start:
        return Rejection(ACCESS_DENIED, "Request is not valid yet: q-sign-time starts in the future.")
    date = headers.get("date")
    if date and _skewed(date, current):
        return Rejection(
            REQUEST_TIME_TOO_SKEWED, "The difference between the request time and the server's time is too large."
        )
    format_string = _format(method, path, _pick(params, auth.param_list), _pick(headers, auth.header_list))
    string_to_sign = _string_to_sign(auth.key_time, format_string)
    expected = _hmac_hex(_hmac_hex(secret_key, auth.key_time), string_to_sign)
    if not hmac.compare_digest(expected, auth.signature):
        return Rejection(
            SIGNATURE_DOES_NOT_MATCH, "The Signature you specified is invalid.", string_to_sign, format_string
        )
    return None


def sign_cos(
    secret_id: str,
    secret_key: str,
    *,
    method: str,
    path: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    start: int | None = None,
    end: int | None = None,
) -> str:
    """The Authorization value signing every given param and header (names as given, any case).

    `path` is the unencoded object path with a leading "/" ("/" for bucket operations). The
    window defaults to the SDK's: [now - 60, now + 10000].
    """
    now = int(time.time())
    t0 = now - 60 if start is None else start
    t1 = now + 10000 if end is None else end
    key_time = f"{t0};{t1}"
    signed_params = {_encode(k).lower(): _encode(v) for k, v in (params or {}).items()}
    signed_headers = {_encode(k).lower(): _encode(v) for k, v in (headers or {}).items()}
    string_to_sign = _string_to_sign(key_time, _format(method, path, signed_params, signed_headers))
    signature = _hmac_hex(_hmac_hex(secret_key, key_time), string_to_sign)
    return (
        f"q-sign-algorithm={ALGORITHM}&q-ak={secret_id}&q-sign-time={key_time}&q-key-time={key_time}"
        f"&q-header-list={';'.join(sorted(signed_headers))}&q-url-param-list={';'.join(sorted(signed_params))}"
        f"&q-signature={signature}"
    )


# ---- internals -----------------------------------------------------------------------------------


def _format(method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """`params`/`headers` already encoded and lowercased."""
    joined_params = "&".join(f"{k}={params[k]}" for k in sorted(params))
    joined_headers = "&".join(f"{k}={headers[k]}" for k in sorted(headers))
    return f"{method.lower()}\n{path}\n{joined_params}\n{joined_headers}\n"


def _string_to_sign(key_time: str, format_string: str) -> str:
    return f"{ALGORITHM}\n{key_time}\n{hashlib.sha1(format_string.encode('utf-8')).hexdigest()}\n"


def _hmac_hex(key: str, msg: str) -> str:
    return hmac.new(key.encode("utf-8"), msg.encode("utf-8"), hashlib.sha1).hexdigest()


def _encode(value: str) -> str:
    return quote(value.encode("utf-8"), safe="-_.~")


def _pick(values: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """Signed name -> encoded value for the listed names (an absent one signs as "")."""
    by_signed_name = {_encode(k).lower(): v for k, v in values.items()}
    return {name: _encode(by_signed_name.get(name, "")) for name in names}


def _time_range(value: str) -> tuple[int, int] | None:
    start, sep, end = value.partition(";")
    if not sep or not start.isdigit() or not end.isdigit():
        return None
    return int(start), int(end)


def _name_list(value: str) -> tuple[str, ...]:
    return tuple(name.lower() for name in value.split(";") if name)


def _skewed(date: str, now: float) -> bool:
    try:
        sent = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return True
    return abs(sent - now) > DATE_SKEW_SECONDS
