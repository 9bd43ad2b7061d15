"""The fake MPS, exercised through the REAL official SDK over real HTTP with real signatures.

Every rule asserted here is one the real API enforces (docs/tencent-cloud.md#processimage, #imagetask, #errors, #signature-v3): a fake that
accepts what MPS rejects would let client bugs through.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from fakes.identities import OPERATOR
from fakes.mps import FakeClock, Fault, MpsBackend, validation
from fakes.mps.responses import MpsResponses
from fakes.tc3 import sign_tc3

if TYPE_CHECKING:
    from fakes.harness import FakeMps

# The official example request (tccli examples.json), with a real-shaped bucket name.
EXAMPLE: dict[str, Any] = {
    "InputInfo": {
        "Type": "COS",
        "CosInputInfo": {"Bucket": "bucket-1250000000", "Region": "ap-shanghai", "Object": "/image/test.png"},
    },
    "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": "bucket-1250000000", "Region": "ap-shanghai"}},
    "ImageTask": {
        "EncodeConfig": {"Format": "jpeg", "Quality": 75},
        "EnhanceConfig": {"SuperResolution": {"Switch": "ON"}},
    },
}
DELETE = object()


def body(changes: dict[str, Any] | None = None, base: dict[str, Any] = EXAMPLE) -> dict[str, Any]:
    """A copy of `base` with dotted-path changes, e.g. {"ImageTask.EncodeConfig.Quality": 0}."""
    out = copy.deepcopy(base)
    for path, value in (changes or {}).items():
        *parents, leaf = path.split(".")
        node = out
        for name in parents:
            node = node.setdefault(name, {})
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return out


def sdk_error(
    fake: FakeMps, params: dict[str, Any], action: str = "ProcessImage", **client_kwargs: Any
) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        fake.client(**client_kwargs).call_json(action, params)
    return info.value


def raw_post(
    fake: FakeMps, payload: bytes, *, tamper: bytes | None = None, authorization: str | None = None, **forge: Any
) -> requests.Response:
    """A request forged with fakes.tc3.sign_tc3 (what the SDK cannot be made to send): `forge`
    takes forged_headers' keywords; `tamper` is sent instead of the signed payload."""
    h = forged_headers(fake, payload, **forge)
    if authorization is not None:
        h["Authorization"] = authorization
    return requests.post(fake.url + "/", data=tamper if tamper is not None else payload, headers=h, timeout=5)


def forged_headers(
    fake: FakeMps,
    payload: bytes,
    *,
    timestamp: int | None = None,
    key: str | None = None,
    service: str = "mps",
    headers: dict[str, str] | None = None,
    signed_headers: tuple[str, ...] = ("content-type", "host"),
) -> dict[str, str]:
    """The headers of a ProcessImage request, signed with fakes.tc3.sign_tc3."""
    h = {
        "Content-Type": "application/json",
        "Host": fake.host,
        "X-TC-Action": "ProcessImage",
        "X-TC-Version": "2019-06-12",
        "X-TC-Timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "X-TC-Region": "ap-guangzhou",
        "X-TC-Token": fake.credential.token,
        **(headers or {}),
    }
    cred = fake.credential
    h["Authorization"] = sign_tc3(
        cred.secret_id, key or cred.secret_key, h, payload, service=service, signed_headers=signed_headers
    )
    return h


def error_code(response: requests.Response) -> str | None:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["Response"].get("Error")
    return error["Code"] if error else None


# ---- success ------------------------------------------------------------------------------------


def test_official_example_returns_an_opaque_task_id_and_records_the_task(fake_mps: FakeMps) -> None:
    envelope = fake_mps.client().call_json("ProcessImage", EXAMPLE)

    response = envelope["Response"]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", response["TaskId"])
    assert re.fullmatch(r"[0-9a-f-]{36}", response["RequestId"])
    [task] = fake_mps.backend.tasks
    assert (task.task_id, task.params, task.session_id) == (response["TaskId"], EXAMPLE, "")
    assert (task.secret_id, task.region, task.created_at) == (
        fake_mps.credential.secret_id,
        "ap-guangzhou",
        fake_mps.clock(),
    )
    assert [(c.action, c.error_code) for c in fake_mps.backend.calls] == [("ProcessImage", None)]


def test_handle_works_without_http_and_reads_headers_case_insensitively(fake_mps: FakeMps) -> None:
    payload = json.dumps(EXAMPLE).encode()
    cred = fake_mps.credential
    headers = {
        "content-type": "application/json",
        "HOST": "x",
        "x-tc-version": "2019-06-12",
        "X-Tc-Timestamp": str(int(time.time())),
        "x-tc-token": cred.token,
    }
    headers["AUTHORIZATION"] = sign_tc3(cred.secret_id, cred.secret_key, headers, payload)

    envelope = MpsResponses(fake_mps.backend).handle("ProcessImage", headers, payload)

    assert envelope["Response"]["TaskId"] == fake_mps.backend.tasks[0].task_id


def test_task_ids_are_reproducible_from_the_seed(make_fake_mps: Any) -> None:
    ids = []
    for _ in range(2):
        fake = make_fake_mps(seed=42)
        ids.append(fake.client().call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"])
    assert ids[0] == ids[1]
    other = make_fake_mps(seed=43).client().call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"]
    assert other != ids[0]


# ---- authentication -----------------------------------------------------------------------------


def test_wrong_secret_key_is_a_signature_failure_and_creates_nothing(fake_mps: FakeMps) -> None:
    cred = fake_mps.credential
    err = sdk_error(fake_mps, EXAMPLE, credential=Credential(cred.secret_id, "not-the-key", cred.token))
    assert err.code == "AuthFailure.SignatureFailure"
    assert err.requestId
    assert fake_mps.backend.tasks == []
    assert fake_mps.backend.calls[-1].error_code == "AuthFailure.SignatureFailure"


def test_unknown_secret_id(fake_mps: FakeMps) -> None:
    cred = fake_mps.credential
    err = sdk_error(fake_mps, EXAMPLE, credential=Credential("FAKEIDunknown", cred.secret_key, cred.token))
    assert err.code == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_temporary_credentials_need_their_token(fake_mps: FakeMps, token: str | None) -> None:
    cred = fake_mps.credential
    err = sdk_error(fake_mps, EXAMPLE, credential=Credential(cred.secret_id, cred.secret_key, token))
    assert err.code == "AuthFailure.TokenFailure"


def test_permanent_credentials_must_not_send_a_token(fake_mps: FakeMps) -> None:
    fake_mps.backend.add_credential(*OPERATOR)  # long-lived keys: no token
    assert fake_mps.client(credential=Credential(*OPERATOR)).call_json("ProcessImage", EXAMPLE)
    err = sdk_error(fake_mps, EXAMPLE, credential=Credential(OPERATOR.secret_id, OPERATOR.secret_key, "stray-token"))
    assert err.code == "AuthFailure.TokenFailure"


@pytest.mark.parametrize(
    ("skew", "code"),
    [(-301, "AuthFailure.SignatureExpire"), (301, "AuthFailure.SignatureExpire"), (-250, None), (250, None)],
)
def test_timestamp_must_be_within_five_minutes_of_real_time(fake_mps: FakeMps, skew: int, code: str | None) -> None:
    # The FakeClock is far from real time; only real time matters for signatures.
    fake_mps.clock.advance(-10 * 365 * 86400)
    assert error_code(raw_post(fake_mps, json.dumps(EXAMPLE).encode(), timestamp=int(time.time()) + skew)) == code


def test_forged_request_signed_correctly_is_accepted_and_tampering_is_not(fake_mps: FakeMps) -> None:
    payload = json.dumps(EXAMPLE).encode()
    assert error_code(raw_post(fake_mps, payload)) is None
    tampered = payload.replace(b"/image/test.png", b"/image/evil.png")
    assert error_code(raw_post(fake_mps, payload, tamper=tampered)) == "AuthFailure.SignatureFailure"
    assert len(fake_mps.backend.tasks) == 1


def test_extra_signed_headers_are_verified(fake_mps: FakeMps) -> None:
    payload = json.dumps(EXAMPLE).encode()
    signed = ("content-type", "host", "x-tc-action")
    assert error_code(raw_post(fake_mps, payload, signed_headers=signed)) is None
    # Signed as ProcessImage, sent as another action: the signature no longer matches.
    cred = fake_mps.credential
    h = {
        "Content-Type": "application/json",
        "Host": fake_mps.host,
        "X-TC-Action": "ProcessImage",
        "X-TC-Version": "2019-06-12",
        "X-TC-Timestamp": str(int(time.time())),
        "X-TC-Token": cred.token,
    }
    h["Authorization"] = sign_tc3(cred.secret_id, cred.secret_key, h, payload, signed_headers=signed)
    h["X-TC-Action"] = "DescribeImageTaskDetail"
    assert error_code(requests.post(fake_mps.url, data=payload, headers=h, timeout=5)) == "AuthFailure.SignatureFailure"


def test_unsigned_payload_mode_of_the_sdk_is_accepted(fake_mps: FakeMps) -> None:
    client = fake_mps.client()
    client.profile.unsignedPayload = True  # sends X-TC-Content-SHA256: UNSIGNED-PAYLOAD
    assert client.call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"]


@pytest.mark.parametrize(
    ("authorization", "service", "signed_headers"),
    [
        ("", "mps", ("content-type", "host")),
        ("TC3-HMAC-SHA256 garbage", "mps", ("content-type", "host")),
        (None, "cvm", ("content-type", "host")),  # signed for another service
        (None, "mps", ("host",)),  # content-type must be signed
    ],
)
def test_malformed_authorization(
    fake_mps: FakeMps, authorization: str | None, service: str, signed_headers: tuple[str, ...]
) -> None:
    response = raw_post(
        fake_mps,
        json.dumps(EXAMPLE).encode(),
        service=service,
        signed_headers=signed_headers,
        authorization=authorization,
    )
    assert error_code(response) == "AuthFailure.InvalidAuthorization"


# ---- common parameters --------------------------------------------------------------------------


def test_wrong_api_version(fake_mps: FakeMps) -> None:
    assert sdk_error(fake_mps, EXAMPLE, version="2018-06-12").code == "NoSuchVersion"


def test_unknown_action(fake_mps: FakeMps) -> None:
    assert sdk_error(fake_mps, {}, action="ProcessMediaPlease").code == "InvalidAction"


def test_region_must_be_an_mps_region_when_given(fake_mps: FakeMps) -> None:
    assert sdk_error(fake_mps, EXAMPLE, region="ap-moon").code == "UnsupportedRegion"
    # Region is optional for ProcessImage: the SDK omits X-TC-Region for an empty region.
    assert fake_mps.client(region="").call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"]


@pytest.mark.parametrize(
    ("payload", "content_type", "code"),
    [
        (b'{"InputInfo": ', "application/json", "InvalidParameter"),
        (b"[1, 2]", "application/json", "InvalidParameter"),
        (json.dumps(EXAMPLE).encode(), "application/x-www-form-urlencoded", "InvalidParameter"),
        (json.dumps(EXAMPLE).encode(), "application/json; charset=utf-8", None),
    ],
)
def test_body_must_be_a_json_object(fake_mps: FakeMps, payload: bytes, content_type: str, code: str | None) -> None:
    assert error_code(raw_post(fake_mps, payload, headers={"Content-Type": content_type})) == code


# ---- ProcessImage validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"ImageTask.EncodeConfig.Fromat": "JPEG"}, "ImageTask.EncodeConfig.Fromat"),
        ({"Imagetask": {}}, "Imagetask"),
        ({"InputInfo.CosInputInfo.Key": "/a.jpg"}, "InputInfo.CosInputInfo.Key"),
        (
            {"ImageTask.BeautyConfig": {"BeautyFilterItems": [{"Type": "Meiwei", "Valu": 1}]}},
            "ImageTask.BeautyConfig.BeautyFilterItems.0.Valu",
        ),
    ],
)
def test_unknown_field_at_any_depth_is_named(fake_mps: FakeMps, changes: dict[str, Any], path: str) -> None:
    err = sdk_error(fake_mps, body(changes))
    assert err.code == "UnknownParameter"
    assert f"`{path}`" in err.message
    assert fake_mps.backend.tasks == []


@pytest.mark.parametrize(
    "changes",
    [
        {"ImageTask.EncodeConfig.Format": "gif"},
        {"ImageTask.EncodeConfig.Quality": 0},
        {"ImageTask.EncodeConfig.Quality": 101},
        {"ImageTask.EnhanceConfig.SuperResolution.Size": 3},
        {"ImageTask.EnhanceConfig.SuperResolution.Type": "mq"},
        {"ImageTask.EnhanceConfig.SuperResolution.Switch": "on"},  # Switch is case-sensitive ON/OFF
        {"ImageTask.EnhanceConfig.Denoise": {"Type": "medium"}},
        {"ImageTask.EnhanceConfig.ColorEnhance": {"Type": "Strong"}},
        {"ImageTask.EnhanceConfig.SharpEnhance": {"Intensity": 1.5}},
        {"ImageTask.EnhanceConfig.LowLightEnhance": {"Type": "strong"}},
        {"ImageTask.EnhanceConfig.AdvancedSuperResolutionConfig": {"Mode": "fit"}},
        {"ImageTask.EnhanceConfig.AdvancedSuperResolutionConfig": {"Width": 4097}},
        {"ImageTask.TransformConfig": {"ImageResize": {"Mode": "percent", "Percent": 0.05}}},
        {"ImageTask.TransformConfig": {"ImageResize": {"Mode": "fixed", "Width": 16385}}},
        {"ImageTask.TransformConfig": {"ImageResize": {"Mode": "fixed", "Height": 0}}},
        {"ImageTask.BeautyConfig": {"BeautyEffectItems": [{"Type": "Whiten", "Value": 101}]}},
        {"ImageTask.BeautyConfig": {"BeautyFilterItems": [{"Type": "Meiwei", "Value": -101}]}},
        {"InputInfo.Type": "FTP"},
        {"InputInfo.CosInputInfo.Bucket": "bucket"},  # no -appid
        {"InputInfo.CosInputInfo.Bucket": "Bucket-1250000000"},
        {"InputInfo.CosInputInfo.Region": "sh"},  # a short code is not a region
        {"InputInfo.CosInputInfo.Object": "image/test.png"},
        {"OutputStorage.Type": "cos"},
        {"OutputStorage.CosOutputStorage.Region": "shanghai"},
        {"OutputPath": "{inputName}.jpg"},
        {"OutputDir": "enhanced/"},
        {"OutputDir": "/enhanced"},
        {"Definition": 0},
    ],
)
def test_documented_enums_ranges_and_formats(fake_mps: FakeMps, changes: dict[str, Any]) -> None:
    err = sdk_error(fake_mps, body(changes))
    assert err.code == "InvalidParameterValue"
    assert next(iter(changes)).split(".")[0] in err.message
    assert fake_mps.backend.tasks == []


@pytest.mark.parametrize(
    "changes",
    [
        {"ImageTask.EncodeConfig.Format": "JPEG"},
        {"ImageTask.EncodeConfig.Format": "webp"},  # Format is case-insensitive (the official example: "jpeg")
        {"ImageTask.EncodeConfig.Format": "WEBP"},
        {"ImageTask.EncodeConfig.Quality": 1},
        {"ImageTask.EncodeConfig.Quality": 100},
        {"ImageTask.EnhanceConfig.SuperResolution": {"Switch": "OFF", "Type": "hq", "Size": 2}},
        {"ImageTask.EnhanceConfig.SharpEnhance": {"Switch": "ON", "Intensity": 1}},  # an int is a valid float
        {"ImageTask.TransformConfig": {"ImageResize": {"Mode": "lfit", "LongSide": 16384, "Percent": 10.0}}},
        {"ImageTask.BeautyConfig": {"BeautyFilterItems": [{"Type": "Dongjing", "Value": -100}]}},
        {
            "ImageTask.EraseConfig": {
                "ImageEraseLogo": {"Switch": "ON", "ImageAreaBoxes": [{"AreaCoordSet": [0, 0, 9, 9]}]}
            }
        },
        {"ImageTask.AiCutoutConfig": {"Model": "any"}},  # known only because the schema comes from the SDK
        {"OutputStorage": DELETE},
        {"OutputStorage.CosOutputStorage": {}},  # bucket and region inherited from the input
        {"OutputDir": "/enhanced/image/", "OutputPath": "{inputName}_hd.{format}"},
        {"OutputDir": "/"},
        {"OutputDir": ""},  # empty strings count as not given
        {"ImageTask.EncodeConfig.Format": None},  # so does null
        {"Definition": 20001, "ImageTask": DELETE},
    ],
)
def test_valid_variants_are_accepted(fake_mps: FakeMps, changes: dict[str, Any]) -> None:
    assert fake_mps.client().call_json("ProcessImage", body(changes))["Response"]["TaskId"]


@pytest.mark.parametrize(
    "changes",
    [
        {"ImageTask.EncodeConfig.Quality": "75"},
        {"ImageTask.EncodeConfig.Quality": True},  # bool is an int in Python, not in JSON
        {"ImageTask.EncodeConfig.Quality": 75.0},
        {"ImageTask.EnhanceConfig.SharpEnhance": {"Intensity": "0.5"}},
        {"ImageTask.EnhanceConfig.SharpEnhance": {"Intensity": False}},
        {"ImageTask.EncodeConfig": ["JPEG"]},
        {"ImageTask.BeautyConfig": {"BeautyFilterItems": {"Type": "Meiwei"}}},
        {"InputInfo": "cos://bucket-1250000000/image/test.png"},
        {"OutputDir": 7},
    ],
)
def test_wrong_json_types(fake_mps: FakeMps, changes: dict[str, Any]) -> None:
    err = sdk_error(fake_mps, body(changes))
    assert err.code == "InvalidParameter"
    assert next(iter(changes)) in err.message


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"InputInfo": DELETE}, "InputInfo"),
        ({"InputInfo.Type": DELETE}, "InputInfo.Type"),
        ({"InputInfo.CosInputInfo": DELETE}, "InputInfo.CosInputInfo"),
        ({"InputInfo.CosInputInfo.Object": DELETE}, "InputInfo.CosInputInfo.Object"),
        ({"InputInfo.CosInputInfo.Bucket": ""}, "InputInfo.CosInputInfo.Bucket"),
        ({"OutputStorage.Type": DELETE}, "OutputStorage.Type"),
        ({"OutputStorage.CosOutputStorage": DELETE}, "OutputStorage.CosOutputStorage"),
        (
            {"ImageTask.BeautyConfig": {"BeautyEffectItems": [{"Value": 5}]}},
            "ImageTask.BeautyConfig.BeautyEffectItems.0.Type",
        ),
    ],
)
def test_missing_required_fields(fake_mps: FakeMps, changes: dict[str, Any], missing: str) -> None:
    err = sdk_error(fake_mps, body(changes))
    assert err.code == "MissingParameter"
    assert f"`{missing}`" in err.message


# ---- SessionId ----------------------------------------------------------------------------------


def test_session_id_deduplicates_for_three_days(fake_mps: FakeMps) -> None:
    client = fake_mps.client()
    params = body({"SessionId": "ae1-upload-1", "SessionContext": "ctx"})
    first = client.call_json("ProcessImage", params)["Response"]["TaskId"]
    assert fake_mps.backend.sessions == {"ae1-upload-1": first}

    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json("ProcessImage", params)
    assert info.value.code == "InvalidParameterValue.SessionId"
    fake_mps.clock.advance(3 * 86400 - 1)
    with pytest.raises(TencentCloudSDKException):
        client.call_json("ProcessImage", params)
    assert len(fake_mps.backend.tasks) == 1

    fake_mps.clock.advance(2)
    second = client.call_json("ProcessImage", params)["Response"]["TaskId"]
    assert second != first
    assert fake_mps.backend.sessions == {"ae1-upload-1": second}
    assert [t.session_id for t in fake_mps.backend.tasks] == ["ae1-upload-1", "ae1-upload-1"]


def test_empty_session_id_means_no_deduplication(fake_mps: FakeMps) -> None:
    client = fake_mps.client()
    for _ in range(2):
        client.call_json("ProcessImage", body({"SessionId": ""}))
    assert len(fake_mps.backend.tasks) == 2
    assert fake_mps.backend.sessions == {}


@pytest.mark.parametrize(
    ("field", "length", "code"),
    [
        ("SessionId", 50, None),
        ("SessionId", 51, "InvalidParameterValue.SessionIdTooLong"),
        ("SessionContext", 1000, None),
        ("SessionContext", 1001, "InvalidParameterValue.SessionContextTooLong"),
    ],
)
def test_session_field_lengths(fake_mps: FakeMps, field: str, length: int, code: str | None) -> None:
    params = body({field: "x" * length})
    if code is None:
        assert fake_mps.client().call_json("ProcessImage", params)["Response"]["TaskId"]
    else:
        assert sdk_error(fake_mps, params).code == code


def test_endpoint_that_rejects_session_id(make_fake_mps: Any) -> None:
    fake = make_fake_mps(accept_session_id=False)
    err = sdk_error(fake, body({"SessionId": "ae1-x"}))
    assert err.code == "UnknownParameter"
    assert "`SessionId`" in err.message
    assert fake.client().call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"]


# ---- rate limit ---------------------------------------------------------------------------------


def test_rate_limit_per_action_and_secret_id(make_fake_mps: Any) -> None:
    fake = make_fake_mps(rate_limit_per_second=20)
    client = fake.client()
    codes = []
    for _ in range(25):
        try:
            client.call_json("ProcessImage", EXAMPLE)
            codes.append(None)
        except TencentCloudSDKException as e:
            codes.append(e.code)
    assert set(codes) == {None, "RequestLimitExceeded"}
    assert codes.count(None) <= 20
    assert len(fake.backend.tasks) == codes.count(None)
    # Another action has its own window.
    task_id = fake.backend.tasks[0].task_id
    assert client.call_json("DescribeImageTaskDetail", {"TaskId": task_id})["Response"]["Status"]


# ---- injected faults ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "InternalError",
        "RequestLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded",
        "FailedOperation.InvalidMpsUser",
        "AuthFailure.UnauthorizedOperation",
    ],
)
def test_injected_error_codes_reach_the_sdk(fake_mps: FakeMps, code: str) -> None:
    fake_mps.backend.inject(Fault.error(code))
    err = sdk_error(fake_mps, EXAMPLE)
    assert err.code == code
    assert fake_mps.backend.tasks == []
    assert fake_mps.client().call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"]  # consumed once


def test_injected_faults_are_fifo_and_per_action(fake_mps: FakeMps) -> None:
    backend = fake_mps.backend
    backend.inject(Fault.error("InternalError"), times=2)
    backend.inject(Fault.error("FailedOperation.InvalidMpsUser"))
    backend.inject(Fault.error("ResourceNotFound"), action="DescribeImageTaskDetail")
    client = fake_mps.client()
    outcomes = []
    for _ in range(4):
        try:
            client.call_json("ProcessImage", EXAMPLE)
            outcomes.append("ok")
        except TencentCloudSDKException as e:
            outcomes.append(e.code)
    assert outcomes == ["InternalError", "InternalError", "FailedOperation.InvalidMpsUser", "ok"]
    assert [c.fault for c in backend.calls] == ["error", "error", "error", None]


def test_http_502_is_a_server_network_error(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.http_status(502))
    err = sdk_error(fake_mps, EXAMPLE)
    assert err.code == "ServerNetworkError"
    assert b"502" in err.message
    assert fake_mps.backend.tasks == []


def test_drop_processes_nothing_but_lost_answer_does(fake_mps: FakeMps) -> None:
    client = fake_mps.client()  # one client throughout: it must recover from each hang-up

    def outcome() -> str:
        try:
            return client.call_json("ProcessImage", body({"SessionId": "ae1-lost"}))["Response"]["TaskId"]
        except TencentCloudSDKException as e:
            return e.code

    fake_mps.backend.inject(Fault.drop())
    assert outcome() == "ClientNetworkError"
    assert fake_mps.backend.tasks == []

    fake_mps.backend.inject(Fault.lost_answer())
    assert outcome() == "ClientNetworkError"
    [task] = fake_mps.backend.tasks
    assert fake_mps.backend.sessions == {"ae1-lost": task.task_id}
    # The client's retry then meets its own first attempt.
    assert outcome() == "InvalidParameterValue.SessionId"
    assert [c.fault for c in fake_mps.backend.calls] == ["drop", "lost_answer", None]


def test_slow_answer_times_out_the_sdk_but_was_processed(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.slow(0.5))
    assert sdk_error(fake_mps, EXAMPLE, timeout=0.2).code == "ClientNetworkError"
    assert len(fake_mps.backend.tasks) == 1

    fake_mps.backend.inject(Fault.slow(0.05))
    started = time.monotonic()
    assert fake_mps.client().call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"]
    assert time.monotonic() - started >= 0.05


def test_charset_content_type_makes_the_sdk_return_an_error_as_success(fake_mps: FakeMps) -> None:
    fake_mps.backend.inject(Fault.content_type("application/json; charset=utf-8"))
    envelope = fake_mps.client().call_json("ProcessImage", body({"ImageTask.EncodeConfig.Quality": 0}))
    # No exception: the SDK only checks for errors when Content-Type is exactly application/json.
    assert envelope["Response"]["Error"]["Code"] == "InvalidParameterValue"
    assert "TaskId" not in envelope["Response"]


def test_random_fault_rates_are_seeded(make_fake_mps: Any) -> None:
    patterns = []
    for _ in range(2):
        fake = make_fake_mps(rate_limit_per_second=None)
        fake.backend.set_fault_rates({"InternalError": 0.3, "http_503": 0.1}, seed=7)
        client = fake.client()
        pattern = []
        for _ in range(30):
            try:
                client.call_json("ProcessImage", EXAMPLE)
                pattern.append("ok")
            except TencentCloudSDKException as e:
                pattern.append(e.code)
        patterns.append(pattern)
        assert len(fake.backend.tasks) == pattern.count("ok")
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {"ok", "InternalError", "ServerNetworkError"}
    with pytest.raises(ValueError):
        MpsBackend().set_fault_rates({"drop": 0.6, "lost_answer": 0.6})


# ---- DescribeImageTaskDetail --------------------------------------------------------------------


def test_task_progresses_waiting_processing_finish_on_the_fake_clock(fake_mps: FakeMps) -> None:
    client = fake_mps.client()
    params = body({"OutputDir": "/enhanced/image/", "Definition": 20001})
    task_id = client.call_json("ProcessImage", params)["Response"]["TaskId"]

    def detail() -> dict[str, Any]:
        return client.call_json("DescribeImageTaskDetail", {"TaskId": task_id})["Response"]

    waiting = detail()
    assert (waiting["Status"], waiting["ImageProcessTaskResultSet"], waiting["FinishTime"]) == ("WAITING", [], "")
    assert waiting["CreateTime"] == "2026-01-01T00:00:00Z"
    assert (waiting["TaskType"], waiting["ErrCode"], waiting["ErrMsg"], waiting["Message"]) == (
        "WorkflowTask",
        0,
        "",
        "",
    )
    assert (waiting["ImageTask"], waiting["InputInfo"], waiting["Definition"]) == (
        params["ImageTask"],
        params["InputInfo"],
        20001,
    )

    fake_mps.clock.advance(1.0)
    processing = detail()
    assert processing["Status"] == "PROCESSING"
    assert [(r["Status"], r["Progress"]) for r in processing["ImageProcessTaskResultSet"]] == [("PROCESSING", 50)]

    fake_mps.clock.advance(2.0)
    finished = detail()
    assert (finished["Status"], finished["FinishTime"]) == ("FINISH", "2026-01-01T00:00:03Z")
    [result] = finished["ImageProcessTaskResultSet"]
    assert (result["Status"], result["Progress"], result["ErrMsg"]) == ("SUCCESS", 100, "")
    assert result["Output"]["Path"] == "/enhanced/image/test.jpeg"
    assert result["Output"]["OutputStorage"] == {
        "Type": "COS",
        "CosOutputStorage": {"Bucket": "bucket-1250000000", "Region": "ap-shanghai"},
    }
    assert result["Output"]["SignedUrl"].startswith(
        "https://bucket-1250000000.cos.ap-shanghai.myqcloud.com/enhanced/image/test.jpeg"
    )


@pytest.mark.parametrize(
    ("changes", "bucket", "region", "path"),
    [
        ({"OutputStorage": DELETE}, "bucket-1250000000", "ap-shanghai", "/image/test.jpeg"),
        ({"OutputDir": "/enhanced/"}, "bucket-1250000000", "ap-shanghai", "/enhanced/test.jpeg"),
        (
            {"OutputDir": "/out/", "OutputPath": "{inputName}_hd.{format}"},
            "bucket-1250000000",
            "ap-shanghai",
            "/out/test_hd.jpeg",
        ),
        (
            {"OutputDir": "/ignored/", "OutputPath": "/abs/{inputName}.{format}"},
            "bucket-1250000000",
            "ap-shanghai",
            "/abs/test.jpeg",
        ),
        # No Format: the input's format, i.e. the source object itself is the default output.
        ({"ImageTask.EncodeConfig.Format": DELETE}, "bucket-1250000000", "ap-shanghai", "/image/test.png"),
        (
            {"ImageTask.EncodeConfig.Format": "WebP", "InputInfo.CosInputInfo.Object": "/cat.JPG"},
            "bucket-1250000000",
            "ap-shanghai",
            "/cat.webp",
        ),
        (
            {"OutputStorage.CosOutputStorage": {"Bucket": "out-1250000000"}},
            "out-1250000000",
            "ap-shanghai",
            "/image/test.jpeg",
        ),
        (
            {"OutputStorage.CosOutputStorage": {"Bucket": "out-1250000000", "Region": "ap-guangzhou"}},
            "out-1250000000",
            "ap-guangzhou",
            "/image/test.jpeg",
        ),
    ],
)
def test_output_path_follows_the_documented_defaults(
    fake_mps: FakeMps, changes: dict[str, Any], bucket: str, region: str, path: str
) -> None:
    fake_mps.client().call_json("ProcessImage", body(changes))
    out = fake_mps.backend.output_path_for(fake_mps.backend.tasks[0])
    assert (out.bucket, out.region, out.path) == (bucket, region, path)


def test_describe_unknown_or_missing_task_id(fake_mps: FakeMps) -> None:
    assert sdk_error(fake_mps, {"TaskId": "nope"}, action="DescribeImageTaskDetail").code == "ResourceNotFound"
    assert sdk_error(fake_mps, {}, action="DescribeImageTaskDetail").code == "MissingParameter"
    assert sdk_error(fake_mps, {"TaskId": "x", "Id": "y"}, action="DescribeImageTaskDetail").code == "UnknownParameter"


def test_tasks_for_object(fake_mps: FakeMps) -> None:
    client = fake_mps.client()
    client.call_json("ProcessImage", EXAMPLE)
    client.call_json("ProcessImage", body({"InputInfo.CosInputInfo.Object": "/image/other.png"}))
    assert [
        t.params["InputInfo"]["CosInputInfo"]["Object"]
        for t in fake_mps.backend.tasks_for_object("bucket-1250000000", "image/test.png")
    ] == ["/image/test.png"]
    assert fake_mps.backend.tasks_for_object("other-1250000000", "/image/test.png") == []


def test_restore_tasks_keeps_sessions_and_new_ids_unique(make_fake_mps: Any) -> None:
    first = make_fake_mps()
    first.client().call_json("ProcessImage", body({"SessionId": "ae1-saved"}))
    saved = [vars(t) for t in first.backend.tasks]

    second = make_fake_mps()  # same seed: its RNG would hand out the saved TaskId again
    second.backend.restore_tasks(saved)
    assert sdk_error(second, body({"SessionId": "ae1-saved"})).code == "InvalidParameterValue.SessionId"
    second.client().call_json("ProcessImage", EXAMPLE)
    assert len({t.task_id for t in second.backend.tasks}) == 2


# ---- the HTTP layer -----------------------------------------------------------------------------


def test_one_client_uses_one_keep_alive_connection(fake_mps: FakeMps) -> None:
    client = fake_mps.client()
    for _ in range(50):
        client.call_json("ProcessImage", EXAMPLE)
    assert fake_mps.server.connections_opened == 1
    fake_mps.client().call_json("ProcessImage", EXAMPLE)
    assert fake_mps.server.connections_opened == 2


def test_answers_are_exact_json_with_content_length(fake_mps: FakeMps) -> None:
    response = raw_post(fake_mps, json.dumps(EXAMPLE).encode())
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert requests.post(fake_mps.url + "/other", data=b"{}", timeout=5).status_code == 404


def test_sixteen_concurrent_clients(fake_mps: FakeMps) -> None:
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            client = fake_mps.client()
            for i in range(20):
                client.call_json("ProcessImage", body({"SessionId": f"c{n}-{i}"}))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({t.task_id for t in fake_mps.backend.tasks}) == 320
    assert len(fake_mps.backend.sessions) == len(fake_mps.backend.calls) == 320
    assert fake_mps.server.connections_opened == 16


def test_two_hundred_calls_in_a_row_on_one_connection(fake_mps: FakeMps) -> None:
    # How fast they go (a Nagle/delayed-ACK stall costs ~40 ms per call) is bench/'s business.
    client = fake_mps.client()
    task_ids = [client.call_json("ProcessImage", EXAMPLE)["Response"]["TaskId"] for _ in range(200)]
    assert task_ids == [t.task_id for t in fake_mps.backend.tasks]
    assert fake_mps.server.connections_opened == 1


# ---- the schema comes from the SDK --------------------------------------------------------------


def test_schema_is_read_from_the_sdk_models() -> None:
    from tencentcloud.mps.v20190612 import models

    sdk_fields = {name.lstrip("_") for name in vars(models.ProcessImageRequest())}
    assert set(validation.schema()["ProcessImageRequest"]) == sdk_fields
    assert "SessionId" not in sdk_fields  # hence validation.SESSION_FIELDS
    assert validation.schema()["ImageEncodeConfig"] == {
        "Format": validation.FieldType("str"),
        "Quality": validation.FieldType("int"),
    }
    assert validation.schema()["ImageEnhanceConfig"]["SuperResolution"] == validation.FieldType(
        "model", "SuperResolutionConfig"
    )


def test_every_sdk_type_annotation_parses() -> None:
    import inspect

    from tencentcloud.mps.v20190612 import models

    source = inspect.getsource(models)
    annotations = set(re.findall(r"^\s*:type \w+: (.+?)\s*$", source, re.MULTILINE))
    parsed = {text: validation.parse_type(text) for text in annotations}
    assert parsed["list of int non-negative"] == validation.FieldType("int", is_list=True, non_negative=True)
    assert parsed["list of MediaInputInfo"] == validation.FieldType("model", "MediaInputInfo", is_list=True)
    assert parsed["bool"] == validation.FieldType("bool")


def test_fake_clock() -> None:
    clock = FakeClock(100.0)
    clock.advance(5)
    assert clock() == 105.0
    clock.set(7)
    assert clock() == 7


def test_reset_forgets_tasks_calls_faults_and_credentials(fake_mps: FakeMps) -> None:
    first = fake_mps.client().call_json("ProcessImage", body({"SessionId": "ae1-reset"}))["Response"]["TaskId"]
    fake_mps.backend.inject(Fault.error("InternalError"))

    fake_mps.backend.reset()

    assert (fake_mps.backend.tasks, fake_mps.backend.sessions, fake_mps.backend.calls) == ([], {}, [])
    assert sdk_error(fake_mps, EXAMPLE).code == "AuthFailure.SecretIdNotFound"
    fake_mps.backend.add_credential(*fake_mps.identity)
    # No fault left, the SessionId is free again, and the seeded TaskIds start over.
    again = fake_mps.client().call_json("ProcessImage", body({"SessionId": "ae1-reset"}))["Response"]["TaskId"]
    assert again == first


def test_every_error_class_names_one_wire_code() -> None:
    from fakes.mps import exceptions

    classes = [c for c in vars(exceptions).values() if isinstance(c, type) and issubclass(c, exceptions.MpsError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)) > 15
    assert exceptions.SessionIdInUse().code == "InvalidParameterValue.SessionId"


def test_the_rate_limit_can_run_on_the_clients_injected_clock(make_fake_mps: Any) -> None:
    now = [0.0]
    fake = make_fake_mps(rate_limit_per_second=2, rate_clock=lambda: now[0])
    client = fake.client()

    def outcome() -> str | None:
        try:
            client.call_json("ProcessImage", EXAMPLE)
            return None
        except TencentCloudSDKException as e:
            return e.code

    assert [outcome() for _ in range(3)] == [None, None, "RequestLimitExceeded"]
    now[0] += 1.0  # a second passes on that clock, however long it took for real
    assert outcome() is None
