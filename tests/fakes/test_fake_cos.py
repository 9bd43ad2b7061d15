"""The fake COS, exercised through the REAL official SDK (cos-python-sdk-v5) over real HTTP.

Every rule asserted here is one the real service enforces (docs/tencent-cloud.md#cos-xml-api): a fake that
accepts what COS rejects would let client bugs through. Requests the SDK cannot be made to send
(expired signatures, tampered paths) are forged with fakes.cos.sign_cos and sent with requests.
"""

from __future__ import annotations

import base64
import hashlib
import time
import tracemalloc
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from qcloud_cos.cos_exception import CosClientError, CosServiceError

from fakes.cos import CosBackend, CosError, CosFault, ObjectCreated, sign_cos
from fakes.identities import OPERATOR

if TYPE_CHECKING:
    from collections.abc import Callable

    from fakes.harness import FakeCos

JAN_2026 = 1_767_225_600.0  # 2026-01-01T00:00:00Z

# Keys that break naive encoders: spaces, "+" (a space to form decoders), "%" and text that
# looks already-encoded, non-ASCII, reserved URL characters, and "./" (which the SDK re-encodes).
AWKWARD_KEYS = [
    "in/a b.jpg",
    "in/a+b.jpg",
    "in/100%.jpg",
    "in/%2B.jpg",
    "in/%E4%B8%AD.jpg",
    "in/中文 图片.jpg",
    "in/emoji 😀.png",
    "in/q?x=1&y=2#frag.jpg",
    "in/./dot/../seg.jpg",
    "in/deep/er/path/~tilde_-.jpg",
]


def service_error(call: Callable[[], object]) -> CosServiceError:
    with pytest.raises(CosServiceError) as info:
        call()
    return info.value


def forged(
    fake: FakeCos,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    sign_path: str | None = None,
    sign_query: dict[str, str] | None = None,
    start: int | None = None,
    end: int | None = None,
    authorization: str | None = None,
) -> requests.Response:
    """A request signed with fakes.cos.sign_cos; `sign_*` let the signature cover something else,
    `authorization` replaces the header outright."""
    host = f"{fake.bucket}.cos.{fake.region}.myqcloud.com"
    headers = {"Host": host, "x-cos-security-token": fake.credential.token or ""}
    signed = sign_cos(
        fake.credential.secret_id,
        fake.credential.secret_key,
        method=method,
        path=sign_path or path,
        params=query if sign_query is None else sign_query,
        headers={k.lower(): v for k, v in headers.items()},
        start=start,
        end=end,
    )
    headers["Authorization"] = signed if authorization is None else authorization
    url = fake.server.url + quote(path.encode("utf-8"), safe="/-_.~")
    return requests.request(method, url, params=query, headers=headers, timeout=5)


def error_fields(response: requests.Response) -> dict[str, str]:
    root = ET.fromstring(response.content)
    return {child.tag: child.text or "" for child in root}


# ---- objects: put, head, get -------------------------------------------------------------------


def test_put_then_head_and_get_describe_the_object_like_cos(make_fake_cos: Callable[..., FakeCos]) -> None:
    fake = make_fake_cos(clock=lambda: JAN_2026)
    client = fake.client()
    body = b"\xff\xd8 jpeg bytes"

    put = client.put_object(Bucket=fake.bucket, Key="in/cat.jpg", Body=body, ContentType="image/jpeg")
    head = client.head_object(Bucket=fake.bucket, Key="in/cat.jpg")
    got = client.get_object(Bucket=fake.bucket, Key="in/cat.jpg")

    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == head["ETag"] == got["ETag"] == etag
    assert (head["Content-Length"], head["Content-Type"]) == (str(len(body)), "image/jpeg")
    assert parsedate_to_datetime(head["Last-Modified"]).timestamp() == JAN_2026
    assert got["Body"].get_raw_stream().read() == body
    request_ids = {put["x-cos-request-id"], head["x-cos-request-id"], got["x-cos-request-id"]}
    assert len(request_ids) == 3 and all(base64.b64decode(r) for r in request_ids)
    stored = fake.backend.head(fake.bucket, "in/cat.jpg")
    assert (stored.size, stored.etag, stored.content_type, stored.last_modified) == (
        len(body),
        etag,
        "image/jpeg",
        JAN_2026,
    )
    assert [c.operation for c in fake.backend.calls] == ["PutObject", "HeadObject", "GetObject"]


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_awkward_keys_round_trip_exactly_through_put_head_get_and_list(fake_cos: FakeCos, key: str) -> None:
    client = fake_cos.client()
    body = key.encode("utf-8")

    client.put_object(Bucket=fake_cos.bucket, Key=key, Body=body)

    assert list(fake_cos.backend.objects(fake_cos.bucket)) == [key]  # stored under the exact key
    assert client.head_object(Bucket=fake_cos.bucket, Key=key)["Content-Length"] == str(len(body))
    assert client.get_object(Bucket=fake_cos.bucket, Key=key)["Body"].get_raw_stream().read() == body
    listed = client.list_objects(Bucket=fake_cos.bucket, Prefix=key)  # the SDK asks for url encoding and decodes
    assert [item["Key"] for item in listed["Contents"]] == [key]
    assert listed["Prefix"] == key


def test_list_with_explicit_encoding_type_url_returns_percent_encoded_names(fake_cos: FakeCos) -> None:
    # Passing EncodingType="url" makes the SDK skip its own decoding: the caller gets the wire text.
    for key in AWKWARD_KEYS:
        fake_cos.backend.put_object(fake_cos.bucket, key, b"x")

    listed = fake_cos.client().list_objects(Bucket=fake_cos.bucket, Prefix="in/", EncodingType="url")

    assert listed["EncodingType"] == "url"
    assert listed["Prefix"] == "in%2F"
    names = [item["Key"] for item in listed["Contents"]]
    assert "in%2Fa%20b.jpg" in names and "in%2Fa%2Bb.jpg" in names and "in%2F%252B.jpg" in names
    assert sorted(unquote(name) for name in names) == sorted(AWKWARD_KEYS)


def test_put_stores_user_metadata_and_head_returns_it(fake_cos: FakeCos) -> None:
    client = fake_cos.client()
    client.put_object(Bucket=fake_cos.bucket, Key="a.jpg", Body=b"x", Metadata={"x-cos-meta-source": "camera"})

    assert client.head_object(Bucket=fake_cos.bucket, Key="a.jpg")["x-cos-meta-source"] == "camera"
    assert fake_cos.backend.head(fake_cos.bucket, "a.jpg").metadata == {"x-cos-meta-source": "camera"}


def test_content_md5_is_checked(fake_cos: FakeCos) -> None:
    client = fake_cos.client(retry=0)
    client.put_object(Bucket=fake_cos.bucket, Key="ok.jpg", Body=b"abc", EnableMD5=True)  # the SDK's own MD5
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()

    error = service_error(
        lambda: client.put_object(Bucket=fake_cos.bucket, Key="bad.jpg", Body=b"abc", ContentMD5=wrong)
    )

    assert (error.get_status_code(), error.get_error_code()) == (400, "BadDigest")
    assert list(fake_cos.backend.objects(fake_cos.bucket)) == ["ok.jpg"]


def test_get_object_range_answers_206_with_the_slice(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "digits.txt", b"0123456789")
    client = fake_cos.client()

    got = client.get_object(Bucket=fake_cos.bucket, Key="digits.txt", Range="bytes=2-5")
    tail = client.get_object(Bucket=fake_cos.bucket, Key="digits.txt", Range="bytes=-3")

    assert (got["Content-Range"], got["Content-Length"]) == ("bytes 2-5/10", "4")
    assert got["Body"].get_raw_stream().read() == b"2345"
    assert tail["Body"].get_raw_stream().read() == b"789"
    error = service_error(lambda: client.get_object(Bucket=fake_cos.bucket, Key="digits.txt", Range="bytes=10-"))
    assert (error.get_status_code(), error.get_error_code()) == (416, "InvalidRange")


def test_delete_removes_the_object_and_is_idempotent(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "gone.jpg", b"x")
    client = fake_cos.client()

    client.delete_object(Bucket=fake_cos.bucket, Key="gone.jpg")
    client.delete_object(Bucket=fake_cos.bucket, Key="gone.jpg")  # COS answers 204 for a missing key too

    assert client.object_exists(Bucket=fake_cos.bucket, Key="gone.jpg") is False
    assert [c.status for c in fake_cos.backend.calls[:2]] == [204, 204]


def test_archived_objects_cannot_be_read_without_a_restore(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "old.jpg", b"x", storage_class="ARCHIVE")
    client = fake_cos.client()

    assert client.head_object(Bucket=fake_cos.bucket, Key="old.jpg")["x-cos-storage-class"] == "ARCHIVE"
    error = service_error(lambda: client.get_object(Bucket=fake_cos.bucket, Key="old.jpg"))
    assert (error.get_status_code(), error.get_error_code()) == (403, "InvalidObjectState")


# ---- listing -------------------------------------------------------------------------------------


def test_listing_pages_2500_objects_in_three_pages_of_1000(fake_cos: FakeCos) -> None:
    keys = [f"in/{i:05d}.jpg" for i in range(2500)]
    for key in reversed(keys):  # seeding order must not matter
        fake_cos.backend.put_object(fake_cos.bucket, key, size=1024)
    fake_cos.backend.put_object(fake_cos.bucket, "out/ignored.jpg", b"x")  # outside the prefix
    client = fake_cos.client()

    pages, marker = [], ""
    while True:
        page = client.list_objects(Bucket=fake_cos.bucket, Prefix="in/", Marker=marker)
        pages.append(page)
        if page["IsTruncated"] == "false":
            break
        marker = page["NextMarker"]

    assert [len(p["Contents"]) for p in pages] == [1000, 1000, 500]
    assert [p["IsTruncated"] for p in pages] == ["true", "true", "false"]
    assert [p.get("NextMarker") for p in pages] == ["in/00999.jpg", "in/01999.jpg", None]
    assert [item["Key"] for p in pages for item in p["Contents"]] == keys
    assert pages[0]["Contents"][0]["Size"] == "1024" and pages[0]["MaxKeys"] == "1000"


def test_max_keys_pages_and_is_capped_at_1000(fake_cos: FakeCos) -> None:
    for i in range(1200):
        fake_cos.backend.put_object(fake_cos.bucket, f"k{i:04d}", size=1)
    client = fake_cos.client()

    small = client.list_objects(Bucket=fake_cos.bucket, MaxKeys=7, Marker="k0100")
    capped = client.list_objects(Bucket=fake_cos.bucket, MaxKeys=5000)

    assert [item["Key"] for item in small["Contents"]] == [f"k{i:04d}" for i in range(101, 108)]
    assert (small["NextMarker"], small["IsTruncated"]) == ("k0107", "true")
    assert (len(capped["Contents"]), capped["MaxKeys"], capped["IsTruncated"]) == (1000, "1000", "true")


def test_delimiter_rolls_keys_up_into_common_prefixes_that_page_like_keys(fake_cos: FakeCos) -> None:
    for key in ["a/1.jpg", "a/2.jpg", "b/x/1.jpg", "c.jpg", "d/1.jpg", "e.jpg"]:
        fake_cos.backend.put_object(fake_cos.bucket, key, b"x")
    client = fake_cos.client()

    def page(marker: str = "", prefix: str = "") -> tuple[list[str], list[str], str | None]:
        listed = client.list_objects(Bucket=fake_cos.bucket, Delimiter="/", MaxKeys=2, Marker=marker, Prefix=prefix)
        assert listed["Delimiter"] == "/"
        keys = [item["Key"] for item in listed.get("Contents", [])]  # the SDK omits an empty Contents
        return keys, [p["Prefix"] for p in listed.get("CommonPrefixes", [])], listed.get("NextMarker")

    first = page()
    second = page(first[2] or "")  # resuming from a CommonPrefix skips its whole group
    third = page(second[2] or "")

    assert first == ([], ["a/", "b/"], "b/")
    assert second == (["c.jpg"], ["d/"], "d/")
    assert third == (["e.jpg"], [], None)
    assert page(prefix="a/") == (["a/1.jpg", "a/2.jpg"], [], None)
    assert page(prefix="b/") == ([], ["b/x/"], None)


def test_listing_order_is_utf8_byte_order(fake_cos: FakeCos) -> None:
    keys = ["中.jpg", "Z.jpg", "a.jpg", "É.jpg", "~.jpg", "B.jpg", "😀.jpg", "a b.jpg", "a+b.jpg"]
    for key in keys:
        fake_cos.backend.put_object(fake_cos.bucket, key, b"x")

    listed = fake_cos.client().list_objects(Bucket=fake_cos.bucket)

    assert [item["Key"] for item in listed["Contents"]] == sorted(keys, key=lambda k: k.encode("utf-8"))


def test_backend_list_objects_matches_what_the_wire_answers(fake_cos: FakeCos) -> None:
    for key in ["p/1", "p/2/x", "p/3", "q"]:
        fake_cos.backend.put_object(fake_cos.bucket, key, b"x")

    direct = fake_cos.backend.list_objects(fake_cos.bucket, prefix="p/", delimiter="/", max_keys=2)
    wire = fake_cos.client().list_objects(Bucket=fake_cos.bucket, Prefix="p/", Delimiter="/", MaxKeys=2)

    assert [o.key for o in direct.contents] == [i["Key"] for i in wire["Contents"]] == ["p/1"]
    assert list(direct.common_prefixes) == [p["Prefix"] for p in wire["CommonPrefixes"]] == ["p/2/"]
    assert (direct.is_truncated, direct.next_marker) == (True, wire["NextMarker"]) == (True, "p/2/")


@settings(max_examples=150, deadline=None)
@given(
    keys=st.sets(st.text(alphabet="ab/+ 中", min_size=1, max_size=6), max_size=25),
    prefix=st.sampled_from(["", "a", "a/", "b/"]),
    delimiter=st.sampled_from(["", "/", "b"]),
    max_keys=st.integers(min_value=1, max_value=7),
)
def test_paging_with_next_marker_returns_every_entry_once_in_order(
    keys: set[str], prefix: str, delimiter: str, max_keys: int
) -> None:
    backend = CosBackend()
    backend.create_bucket("b-1250000000", "ap-guangzhou")
    for key in keys:
        backend.put_object("b-1250000000", key, b"x")
    # The model: matching keys in byte order, each replaced by its CommonPrefix when the rest
    # after the prefix holds the delimiter, consecutive duplicates merged.
    expected: list[str] = []
    for key in sorted(k for k in keys if k.startswith(prefix)):
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = key[: cut + len(delimiter)] if cut >= 0 else key
        if not expected or expected[-1] != entry:
            expected.append(entry)

    seen: list[str] = []
    marker = ""
    for _ in range(len(expected) + 1):
        page = backend.list_objects(
            "b-1250000000", prefix=prefix, marker=marker, max_keys=max_keys, delimiter=delimiter
        )
        entries = sorted([o.key for o in page.contents] + list(page.common_prefixes))
        assert len(entries) <= max_keys
        seen += entries
        if not page.is_truncated:
            break
        assert page.next_marker == entries[-1]
        marker = page.next_marker

    assert seen == expected


# ---- not found, bad names, unsupported operations ------------------------------------------------


def test_head_of_a_missing_key_is_404_and_object_exists_is_false(fake_cos: FakeCos) -> None:
    client = fake_cos.client(retry=0)

    error = service_error(lambda: client.head_object(Bucket=fake_cos.bucket, Key="missing.jpg"))

    # A HEAD answer has no body: the SDK names the 404 itself and takes the request id from the header.
    assert (error.get_status_code(), error.get_error_code()) == (404, "NoSuchResource")
    assert error.get_request_id() == fake_cos.backend.calls[0].request_id
    assert client.object_exists(Bucket=fake_cos.bucket, Key="missing.jpg") is False
    assert [(c.operation, c.status) for c in fake_cos.backend.calls] == [("HeadObject", 404)] * 2


def test_get_of_a_missing_key_is_nosuchkey_with_every_error_field(fake_cos: FakeCos) -> None:
    error = service_error(lambda: fake_cos.client().get_object(Bucket=fake_cos.bucket, Key="in/no such.jpg"))

    assert (error.get_status_code(), error.get_error_code()) == (404, "NoSuchKey")
    assert error.get_error_msg() == "The specified key does not exist."
    assert error.get_resource_location() == f"{fake_cos.bucket}.cos.{fake_cos.region}.myqcloud.com/in/no%20such.jpg"
    assert error.get_request_id() not in ("", "Unknown") and error.get_trace_id() not in ("", "Unknown")


def test_unknown_bucket_is_nosuchbucket(fake_cos: FakeCos) -> None:
    client = fake_cos.client()

    listing = service_error(lambda: client.list_objects(Bucket="nothere-1250000000"))
    getting = service_error(lambda: client.get_object(Bucket="nothere-1250000000", Key="a.jpg"))

    assert {(e.get_status_code(), e.get_error_code()) for e in (listing, getting)} == {(404, "NoSuchBucket")}


def test_a_bucket_is_not_found_through_another_regions_endpoint(fake_cos: FakeCos) -> None:
    fake_cos.backend.create_bucket("shanghai-1250000000", "ap-shanghai")
    fake_cos.backend.put_object("shanghai-1250000000", "a.jpg", b"x")

    error = service_error(lambda: fake_cos.client().head_object(Bucket="shanghai-1250000000", Key="a.jpg"))
    found = fake_cos.client(region="ap-shanghai").head_object(Bucket="shanghai-1250000000", Key="a.jpg")

    assert error.get_status_code() == 404
    assert fake_cos.backend.calls[0].error_code == "NoSuchBucket"
    assert found["Content-Length"] == "1"


@pytest.mark.parametrize("bucket", ["Photos-1250000000", "photos", "photos--1250000000"])
def test_invalid_bucket_names_the_sdk_lets_through_are_refused(fake_cos: FakeCos, bucket: str) -> None:
    error = service_error(lambda: fake_cos.client().list_objects(Bucket=bucket))

    assert (error.get_status_code(), error.get_error_code()) == (400, "InvalidBucketName")


def test_create_bucket_applies_cos_naming_rules() -> None:
    backend = CosBackend()
    for bad in ["Photos-1250000000", "photos", "-photos-1250000000", "photos--1250000000", "p" * 40 + "-1250000000"]:
        with pytest.raises(ValueError):
            backend.create_bucket(bad, "ap-guangzhou")
    backend.create_bucket("my-photos-1250000000", "ap-guangzhou")
    with pytest.raises(ValueError):
        backend.create_bucket("my-photos-1250000000", "ap-guangzhou")


def test_unimplemented_apis_fail_loudly_instead_of_pretending(fake_cos: FakeCos) -> None:
    error = service_error(lambda: fake_cos.client(retry=0).get_bucket_acl(Bucket=fake_cos.bucket))

    assert (error.get_status_code(), error.get_error_code()) == (501, "NotImplemented")


def test_backend_helpers_raise_cos_errors() -> None:
    backend = CosBackend()
    backend.create_bucket("b-1250000000", "ap-guangzhou")

    with pytest.raises(CosError) as missing_key:
        backend.head("b-1250000000", "nope")
    with pytest.raises(CosError) as missing_bucket:
        backend.get("other-1250000000", "nope")
    with pytest.raises(ValueError):
        backend.inject(CosFault.drop(), operation="ListObjects")  # a typo must not silently never fire

    assert (missing_key.value.status, missing_key.value.code) == (404, "NoSuchKey")
    assert missing_bucket.value.code == "NoSuchBucket"


# ---- signatures ----------------------------------------------------------------------------------


def test_a_wrong_secret_key_is_signaturedoesnotmatch_with_the_string_to_sign(fake_cos: FakeCos) -> None:
    cred = fake_cos.credential
    wrong = type(cred)(cred.secret_id, "not-the-key", cred.token)

    error = service_error(lambda: fake_cos.client(credential=wrong).list_objects(Bucket=fake_cos.bucket))

    assert (error.get_status_code(), error.get_error_code()) == (403, "SignatureDoesNotMatch")
    assert "<StringToSign>sha1\n" in error.get_origin_msg()  # COS echoes it so a client can diff


def test_an_unknown_secret_id_is_invalidaccesskeyid(fake_cos: FakeCos) -> None:
    stranger = type(fake_cos.credential)("FAKEIDunknown0000000000000000000000000", "k", None)

    error = service_error(lambda: fake_cos.client(credential=stranger).get_object(Bucket=fake_cos.bucket, Key="a"))

    assert (error.get_status_code(), error.get_error_code()) == (403, "InvalidAccessKeyId")


@pytest.mark.parametrize("token", [None, "some-other-token"])
def test_temporary_credentials_need_their_own_token(fake_cos: FakeCos, token: str | None) -> None:
    cred = fake_cos.credential
    client = fake_cos.client(credential=type(cred)(cred.secret_id, cred.secret_key, token))

    error = service_error(lambda: client.list_objects(Bucket=fake_cos.bucket))

    assert (error.get_status_code(), error.get_error_code()) == (403, "InvalidAccessKeyId")
    assert "security-token" in error.get_error_msg()


def test_permanent_credentials_work_without_a_token_and_refuse_one(fake_cos: FakeCos) -> None:
    fake_cos.backend.add_credential(*OPERATOR)  # long-lived keys: no token
    permanent = OPERATOR
    stray = permanent._replace(token="stray-token")

    listed = fake_cos.client(credential=permanent).list_objects(Bucket=fake_cos.bucket)
    error = service_error(lambda: fake_cos.client(credential=stray).list_objects(Bucket=fake_cos.bucket))

    assert listed["Name"] == fake_cos.bucket
    assert error.get_error_code() == "InvalidAccessKeyId"


def test_an_expired_sign_time_is_refused_with_request_has_expired(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")
    now = int(time.time())

    expired = forged(fake_cos, "GET", "/a.jpg", start=now - 7200, end=now - 3600)
    future = forged(fake_cos, "GET", "/a.jpg", start=now + 3600, end=now + 7200)
    fresh = forged(fake_cos, "GET", "/a.jpg")

    assert (expired.status_code, error_fields(expired)["Code"], error_fields(expired)["Message"]) == (
        403,
        "AccessDenied",
        "Request has expired",
    )
    assert (future.status_code, error_fields(future)["Code"]) == (403, "AccessDenied")
    assert (fresh.status_code, fresh.content) == (200, b"x")  # sign_cos itself is right


def test_the_signature_covers_the_path_and_the_listed_params(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "in/b c.jpg", b"x")

    other_path = forged(fake_cos, "GET", "/in/b c.jpg", sign_path="/in/a.jpg")
    other_param = forged(fake_cos, "GET", "/", query={"prefix": "in/"}, sign_query={"prefix": "out/"})
    unencoded_path = forged(fake_cos, "GET", "/in/b c.jpg")  # signed over "/in/b c.jpg", sent as %20

    assert (other_path.status_code, error_fields(other_path)["Code"]) == (403, "SignatureDoesNotMatch")
    assert (other_param.status_code, error_fields(other_param)["Code"]) == (403, "SignatureDoesNotMatch")
    assert unencoded_path.status_code == 200


def test_requests_without_authorization_are_access_denied(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")

    anonymous = forged(fake_cos, "GET", "/a.jpg", authorization="")
    garbage = forged(fake_cos, "GET", "/a.jpg", authorization="Bearer nope")

    fields = error_fields(anonymous)
    assert (anonymous.status_code, fields["Code"]) == (403, "AccessDenied")
    assert all(fields[name] for name in ("Code", "Message", "Resource", "RequestId", "TraceId"))
    assert anonymous.headers["x-cos-request-id"] == fields["RequestId"]
    assert (garbage.status_code, error_fields(garbage)["Code"]) == (403, "AccessDenied")


def test_a_refused_head_shows_only_its_status_to_the_sdk(fake_cos: FakeCos) -> None:
    cred = fake_cos.credential
    client = fake_cos.client(credential=type(cred)(cred.secret_id, "not-the-key", cred.token))
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")

    error = service_error(lambda: client.head_object(Bucket=fake_cos.bucket, Key="a.jpg"))

    # No body on HEAD, so the SDK cannot read a code; object_exists must not read 403 as "absent".
    assert (error.get_status_code(), error.get_error_code()) == (403, "Unknown")
    assert fake_cos.backend.calls[-1].error_code == "SignatureDoesNotMatch"
    with pytest.raises(CosServiceError):
        client.object_exists(Bucket=fake_cos.bucket, Key="a.jpg")


# ---- faults and latency --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "status", "code"), [("GetObject", 500, "InternalError"), ("GetBucket", 503, "SlowDown")]
)
def test_injected_errors_surface_with_their_status_and_code(
    fake_cos: FakeCos, operation: str, status: int, code: str
) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")
    fake_cos.backend.inject(CosFault.error(status, code), operation=operation)
    client = fake_cos.client(retry=0)

    def call() -> object:
        if operation == "GetObject":
            return client.get_object(Bucket=fake_cos.bucket, Key="a.jpg")
        return client.list_objects(Bucket=fake_cos.bucket)

    client.head_object(Bucket=fake_cos.bucket, Key="a.jpg")  # another operation: not affected
    error = service_error(call)
    call()  # times=1: the next one succeeds

    assert (error.get_status_code(), error.get_error_code()) == (status, code)
    assert [(c.operation, c.fault, c.error_code) for c in fake_cos.backend.calls] == [
        ("HeadObject", None, None),
        (operation, "error", code),
        (operation, None, None),
    ]


def test_the_sdk_retries_an_injected_503(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")
    fake_cos.backend.inject(CosFault.error(503, "SlowDown"), operation="HeadObject")

    head = fake_cos.client(retry=1).head_object(Bucket=fake_cos.bucket, Key="a.jpg")

    assert head["Content-Length"] == "1"
    assert [c.status for c in fake_cos.backend.calls] == [503, 200]


def test_a_dropped_connection_is_a_client_error(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")
    fake_cos.backend.inject(CosFault.drop(), operation="HeadObject")
    client = fake_cos.client(retry=0)

    with pytest.raises(CosClientError):
        client.head_object(Bucket=fake_cos.bucket, Key="a.jpg")
    after = client.head_object(Bucket=fake_cos.bucket, Key="a.jpg")

    assert after["Content-Length"] == "1"
    assert [(c.status, c.fault) for c in fake_cos.backend.calls] == [(None, "drop"), (200, None)]


def test_a_lost_put_answer_still_stores_the_object(fake_cos: FakeCos) -> None:
    created: list[ObjectCreated] = []
    fake_cos.backend.on_object_created(created.append)
    fake_cos.backend.inject(CosFault.lost_answer(), operation="PutObject")

    with pytest.raises(CosClientError):
        fake_cos.client(retry=0).put_object(Bucket=fake_cos.bucket, Key="a.jpg", Body=b"abc")

    assert fake_cos.backend.get(fake_cos.bucket, "a.jpg") == b"abc"
    assert [e.key for e in created] == ["a.jpg"]


def test_a_slow_answer_beyond_the_client_timeout_is_a_client_error(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")
    fake_cos.backend.inject(CosFault.slow(0.5), operation="HeadObject")
    fake_cos.backend.inject(CosFault.slow(0.2), operation="HeadObject")

    started = time.perf_counter()
    with pytest.raises(CosClientError):
        fake_cos.client(retry=0, timeout=0.2).head_object(Bucket=fake_cos.bucket, Key="a.jpg")
    patient = fake_cos.client(retry=0, timeout=5).head_object(Bucket=fake_cos.bucket, Key="a.jpg")

    assert patient["Content-Length"] == "1"
    assert time.perf_counter() - started >= 0.4  # 0.2 s timeout + 0.2 s slow answer


def test_latency_seconds_delays_every_request(make_fake_cos: Callable[..., FakeCos]) -> None:
    # Only the lower bound: that a fake without latency is fast is bench/'s business.
    fake = make_fake_cos(latency_seconds=0.02)
    client = fake.client()
    client.object_exists(Bucket=fake.bucket, Key="warm-up")

    started = time.perf_counter()
    for _ in range(10):
        client.object_exists(Bucket=fake.bucket, Key="a.jpg")

    assert time.perf_counter() - started >= 0.2


# ---- the object-created hook ---------------------------------------------------------------------


def test_on_object_created_fires_for_wire_and_seeded_puts(make_fake_cos: Callable[..., FakeCos]) -> None:
    fake = make_fake_cos(clock=lambda: JAN_2026)
    created: list[ObjectCreated] = []
    fake.backend.on_object_created(created.append)

    put = fake.client().put_object(Bucket=fake.bucket, Key="in/中 1.jpg", Body=b"12345", ContentType="image/jpeg")
    fake.backend.put_object(fake.bucket, "in/seeded.jpg", size=2048)

    wire, seeded = created
    assert (wire.bucket, wire.region, wire.key, wire.size) == (fake.bucket, fake.region, "in/中 1.jpg", 5)
    assert (wire.etag, wire.request_id) == (put["ETag"], put["x-cos-request-id"])
    assert (wire.event_name, wire.time, wire.content_type) == ("cos:ObjectCreated:Put", JAN_2026, "image/jpeg")
    assert (seeded.key, seeded.size, seeded.request_id != wire.request_id) == ("in/seeded.jpg", 2048, True)


def test_a_failing_callback_does_not_fail_the_upload(fake_cos: FakeCos) -> None:
    def broken(event: ObjectCreated) -> None:
        raise RuntimeError(f"cannot handle {event.key}")

    fake_cos.backend.on_object_created(broken)

    put = fake_cos.client(retry=0).put_object(Bucket=fake_cos.bucket, Key="a.jpg", Body=b"x")

    assert put["ETag"] == f'"{hashlib.md5(b"x").hexdigest()}"'
    assert [str(e) for e in fake_cos.backend.callback_errors] == ["cannot handle a.jpg"]


def test_no_callback_fires_for_a_refused_put(fake_cos: FakeCos) -> None:
    created: list[ObjectCreated] = []
    fake_cos.backend.on_object_created(created.append)
    cred = fake_cos.credential
    client = fake_cos.client(credential=type(cred)(cred.secret_id, "wrong", cred.token))

    service_error(lambda: client.put_object(Bucket=fake_cos.bucket, Key="a.jpg", Body=b"x"))

    assert created == [] and fake_cos.backend.objects(fake_cos.bucket) == {}


# ---- scale and connections -----------------------------------------------------------------------


def test_20000_size_only_objects_cost_a_few_mb_and_stream_their_bytes(fake_cos: FakeCos) -> None:
    declared = 5_000_000  # 20,000 x 5 MB = 100 GB declared
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):
            fake_cos.backend.put_object(fake_cos.bucket, f"in/2026/{i:05d}.jpg", size=declared)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    got = fake_cos.client().get_object(Bucket=fake_cos.bucket, Key="in/2026/12345.jpg")
    received = sum(len(chunk) for chunk in got["Body"].get_stream(chunk_size=1 << 20))

    assert grown < 8_000_000, f"{grown / 20_000:.0f} bytes per object"
    assert (got["Content-Length"], received) == (str(declared), declared)
    assert fake_cos.backend.head(fake_cos.bucket, "in/2026/12345.jpg").has_body is False
    assert (
        fake_cos.backend.list_objects(fake_cos.bucket, prefix="in/2026/1", max_keys=1000).contents[0].size == declared
    )


def test_one_client_reuses_one_keep_alive_connection(fake_cos: FakeCos) -> None:
    client = fake_cos.client()
    client.put_object(Bucket=fake_cos.bucket, Key="a.jpg", Body=b"x")

    for _ in range(30):
        client.head_object(Bucket=fake_cos.bucket, Key="a.jpg")
        client.list_objects(Bucket=fake_cos.bucket, MaxKeys=1)
    client.object_exists(Bucket=fake_cos.bucket, Key="missing")  # an error answer keeps it open too
    client.get_object(Bucket=fake_cos.bucket, Key="a.jpg")["Body"].get_raw_stream().read()

    assert fake_cos.server.connections_opened == 1
    assert fake_cos.backend.count() == 63 and fake_cos.backend.count("HeadObject") == 31


def test_reset_forgets_buckets_objects_calls_and_faults(fake_cos: FakeCos) -> None:
    fake_cos.backend.put_object(fake_cos.bucket, "a.jpg", b"x")
    fake_cos.client().head_object(Bucket=fake_cos.bucket, Key="a.jpg")
    fake_cos.backend.inject(CosFault.drop())

    fake_cos.backend.reset()

    assert fake_cos.backend.calls == [] and fake_cos.backend.count() == 0
    with pytest.raises(CosError) as missing:
        fake_cos.backend.objects(fake_cos.bucket)
    assert missing.value.code == "NoSuchBucket"
    fake_cos.backend.create_bucket(fake_cos.bucket, fake_cos.region)
    fake_cos.backend.add_credential(*fake_cos.identity)
    assert fake_cos.client(retry=0).object_exists(Bucket=fake_cos.bucket, Key="a.jpg") is False  # no drop left


def test_random_faults_are_seeded(make_fake_cos: Callable[..., FakeCos]) -> None:
    patterns = []
    for _ in range(2):
        fake = make_fake_cos()
        fake.backend.set_fault_rates({CosFault.error(503, "SlowDown"): 0.4}, seed=3, operation="HeadBucket")
        client = fake.client(retry=0)
        pattern = []
        for _ in range(15):
            try:
                client.head_bucket(Bucket=fake.bucket)
                pattern.append(200)
            except CosServiceError as e:
                pattern.append(e.get_status_code())
        patterns.append(pattern)
    assert patterns[0] == patterns[1] and set(patterns[0]) == {200, 503}


def test_every_error_class_names_one_wire_code() -> None:
    from fakes.cos import exceptions

    classes = [c for c in vars(exceptions).values() if isinstance(c, type) and issubclass(c, CosError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)) > 15
    assert (exceptions.NoSuchKey.status, exceptions.NoSuchKey().code) == (404, "NoSuchKey")
