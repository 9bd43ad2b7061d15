"""Pure mapping: skip decisions, the ProcessImage body, the SessionId recipe, error classes."""

from __future__ import annotations

import pytest

from autoenhance.sample_events import cos_event, cos_record
from handler.config import load_settings
from handler.cos_event import CosUploadRecord, parse_records
from handler.errors import UnsafeKeyError
from handler.outputs import writes_next_to_sources
from handler.plan import Fail, Skip, Submit, build_process_image_request, plan_record, session_id_for, skip_reason
from handler.retry import ErrorKind, RetryPolicy, classify

TRANSIENT, DUPLICATE, PERMANENT = ErrorKind.TRANSIENT, ErrorKind.DUPLICATE, ErrorKind.PERMANENT
SESSION_ID_REJECTED, CREDENTIALS_STALE = ErrorKind.SESSION_ID_REJECTED, ErrorKind.CREDENTIALS_STALE

BUCKET, REGION = "photos-1250000000", "ap-guangzhou"


def record(key: str = "uploads/a/cat.jpg", event: str = "put", **kw) -> CosUploadRecord:
    [rec] = parse_records(cos_event([cos_record(BUCKET, REGION, key, event, **kw)]))
    assert isinstance(rec, CosUploadRecord)
    return rec


DEFAULT = load_settings({})


def test_default_request_matches_the_documented_shape():
    params = build_process_image_request(record(), DEFAULT, "ae1-x")
    assert params == {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": BUCKET, "Region": REGION, "Object": "/uploads/a/cat.jpg"},
        },
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": BUCKET, "Region": REGION}},
        "OutputDir": "/enhanced/uploads/a/",
        "OutputPath": "cat.jpg.{format}",  # named by the function: only {format} is left to MPS
        "ImageTask": {
            "EncodeConfig": {"Format": "JPEG", "Quality": 75},
            "EnhanceConfig": {"SuperResolution": {"Switch": "ON"}},
        },
        "SessionId": "ae1-x",
    }


def test_configured_output_definition_and_resource_are_mapped():
    s = load_settings(
        {
            "OUTPUT_BUCKET": "out-1250000000",
            "OUTPUT_REGION": "ap-shanghai",
            "OUTPUT_DIR": "/hd",
            "OUTPUT_PATH": "{inputName}_hd.{inputName}.{inputFormat}.{format}",
            "MPS_DEFINITION": "20001",
            "MPS_RESOURCE_ID": "res-1",
        }
    )
    params = build_process_image_request(record("top.png"), s, None)
    assert params["OutputStorage"]["CosOutputStorage"] == {"Bucket": "out-1250000000", "Region": "ap-shanghai"}
    assert params["OutputDir"] == "/hd/"
    assert params["OutputPath"] == "top_hd.top.png.{format}"
    assert params["Definition"] == 20001 and "ImageTask" not in params
    assert params["ResourceId"] == "res-1"
    assert "SessionId" not in params


def test_unicode_key_maps_to_object_and_output_dir_unchanged():
    params = build_process_image_request(record("假期 照片/海边+1 100%.jpg"), DEFAULT, None)
    assert params["InputInfo"]["CosInputInfo"]["Object"] == "/假期 照片/海边+1 100%.jpg"
    assert params["OutputDir"] == "/enhanced/假期 照片/"


@pytest.mark.parametrize("key", ["../../etc/x.jpg", "a/./b.jpg", "a/../../b.jpg"])
def test_keys_that_could_escape_the_output_directory_are_refused(key):
    with pytest.raises(UnsafeKeyError, match="could leave /enhanced/"):
        build_process_image_request(record(key), DEFAULT, None)


def test_control_characters_in_keys_are_refused():
    with pytest.raises(UnsafeKeyError, match="control characters"):
        build_process_image_request(record("a\nb.jpg"), DEFAULT, None)


def test_doubled_slashes_stay_inside_the_output_directory_as_they_are():
    """`a//b/c.jpg` and `a/b/c.jpg` are two objects: their outputs must be two (empty segments kept)."""
    assert build_process_image_request(record("a//b/c.jpg"), DEFAULT, None)["OutputDir"] == "/enhanced/a//b/"
    assert build_process_image_request(record("a/b/c.jpg"), DEFAULT, None)["OutputDir"] == "/enhanced/a/b/"


# -- skip decisions --------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["put", "post", "copy", "multipart"])
def test_every_creation_kind_is_submitted(event):
    assert skip_reason(record(event=event), DEFAULT) is None


@pytest.mark.parametrize(
    ("rec", "reason"),
    [
        (record(event="delete"), "not an upload event (cos:ObjectRemove:Delete)"),
        (record("uploads/folder/"), "folder marker"),
        (record(size=0), "empty object (0 bytes)"),
        (record("uploads/report.pdf"), "not an image extension (.pdf"),
        (record("uploads/README"), "not an image extension (none"),
        (record("enhanced/uploads/a/cat.jpg"), "the function's own output (under /enhanced/)"),
    ],
)
def test_skip_reasons(rec, reason):
    assert skip_reason(rec, DEFAULT).startswith(reason)


def test_extension_match_is_case_insensitive():
    assert skip_reason(record("uploads/CAT.JPG"), DEFAULT) is None
    assert skip_reason(record("uploads/x.WebP"), DEFAULT) is None


def test_own_output_guard_applies_to_the_output_bucket_only():
    s = load_settings({"OUTPUT_BUCKET": "out-1250000000"})
    assert skip_reason(record("enhanced/a.jpg"), s) is None  # source bucket: a user's own folder
    out = record("enhanced/a.jpg")._replace(bucket="out-1250000000")
    assert "own output" in skip_reason(out, s)


def test_output_root_in_another_bucket_never_loops_back():
    s = load_settings({"OUTPUT_BUCKET": "out-1250000000", "OUTPUT_DIR": "/"})
    assert not writes_next_to_sources(record().bucket, s)
    assert writes_next_to_sources("out-1250000000", s)


# The watched bucket named as OUTPUT_BUCKET: start-up cannot know it is watched; its records prove it.
SKIPS_EVERY_UPLOAD = {"OUTPUT_BUCKET": BUCKET, "OUTPUT_DIR": "/uploads/", "TRIGGER_PREFIX": "uploads/new/"}
LOOPS = {"OUTPUT_BUCKET": BUCKET, "OUTPUT_DIR": "/"}


@pytest.mark.parametrize(
    ("env", "rec", "problem"),
    [
        (SKIPS_EVERY_UPLOAD, record("uploads/new/cat.jpg"), "TRIGGER_PREFIX='uploads/new/' lies inside"),
        (SKIPS_EVERY_UPLOAD, record("elsewhere/cat.jpg"), "TRIGGER_PREFIX='uploads/new/' lies inside"),
        (LOOPS, record("uploads/cat.jpg"), "output would land next to the uploaded images"),
        (LOOPS, record("uploads/report.pdf"), "output would land next to the uploaded images"),
        ({**LOOPS, "OUTPUT_REGION": REGION}, record("uploads/cat.jpg"), "output would land next to"),
    ],
)
def test_a_record_from_an_output_bucket_that_would_loop_or_skip_everything_fails(env, rec, problem):
    plan = plan_record(rec, load_settings(env))
    assert isinstance(plan, Fail) and plan.error_code == "LoopGuard"
    assert plan.error.startswith("record from OUTPUT_BUCKET: ")
    assert f"OUTPUT_BUCKET={BUCKET!r} is the watched bucket itself, so " in plan.error and problem in plan.error


def test_records_from_other_buckets_still_go_to_that_output_bucket():
    other = record("uploads/new/cat.jpg")._replace(bucket="in-1250000000")
    plan = plan_record(other, load_settings(SKIPS_EVERY_UPLOAD))
    assert isinstance(plan, Submit)
    assert plan.request["OutputStorage"]["CosOutputStorage"]["Bucket"] == BUCKET
    assert plan.request["OutputDir"] == "/uploads/uploads/new/"


def test_a_bucket_of_the_same_name_in_another_region_than_output_region_is_not_the_output_bucket():
    s = load_settings({**SKIPS_EVERY_UPLOAD, "OUTPUT_REGION": "ap-shanghai"})
    assert isinstance(plan_record(record("elsewhere/cat.jpg"), s), Submit)
    in_shanghai = record("elsewhere/cat.jpg")._replace(region="ap-shanghai")
    assert isinstance(plan_record(in_shanghai, s), Fail)


def test_genuine_outputs_in_a_working_output_bucket_are_still_skipped():
    s = load_settings({"OUTPUT_BUCKET": "out-1250000000"})
    output = record("enhanced/a/cat.jpeg")._replace(bucket="out-1250000000")
    assert plan_record(output, s) == Skip("the function's own output (under /enhanced/)")
    assert isinstance(plan_record(record("a/cat.jpg"), s), Submit)


# -- SessionId ------------------------------------------------------------------------------


def test_session_id_is_deterministic_and_short():
    sid = session_id_for(record(), DEFAULT.fingerprint)
    assert sid == session_id_for(record(), DEFAULT.fingerprint)
    assert len(sid) <= 50 and sid.startswith("ae3-")


def test_a_re_upload_of_new_bytes_gets_a_new_session_id():
    first = session_id_for(record(etag="a" * 32, event_time=1000), DEFAULT.fingerprint)
    again = session_id_for(record(etag="b" * 32, event_time=2000), DEFAULT.fingerprint)
    assert first != again


def test_the_id_is_the_content_s_so_a_listing_and_an_event_agree():
    """The trigger's event and a backfill's listing of the same object get one id (one task)."""
    event = record(etag="d146526ce0f5ad3a9f8107d71a3404ac", event_time=1000)
    listed = event._replace(cos_request_id="", event_time=None, event_name="backfill", content_type="")
    listed = listed._replace(etag='"D146526CE0F5AD3A9F8107D71A3404AC"')  # quoted, any case: the same ETag
    assert session_id_for(event, "f") == session_id_for(listed, "f")
    # A re-upload of identical bytes is the same content: the same id (MPS answers duplicate for 3 days).
    assert session_id_for(record(etag="d146526ce0f5ad3a9f8107d71a3404ac", event_time=9000), "f") == session_id_for(
        event, "f"
    )
    # A version id does not split it: a listing has none.
    assert session_id_for(event._replace(version_id="v2"), "f") == session_id_for(event, "f")


@pytest.mark.parametrize(
    "spelling",
    [
        'W/"d146526ce0f5ad3a9f8107d71a3404ac"',
        'w/"D146526CE0F5AD3A9F8107D71A3404AC"',
        " d146526ce0f5ad3a9f8107d71a3404ac ",
    ],
)
def test_a_weak_or_odd_etag_and_a_missing_size_are_still_the_same_content(spelling):
    """A listing says '"abc"' with the size; an event may say W/"ABC" and carry no size: one object, one id."""
    listed = record(etag='"d146526ce0f5ad3a9f8107d71a3404ac"')._replace(size=1029)
    event = listed._replace(etag=spelling, size=None)
    assert session_id_for(event, "f") == session_id_for(listed, "f")


def test_the_etag_is_read_whatever_the_case_of_its_header_name():
    def event_with(name: str) -> dict:
        event = cos_event([cos_record("photos-1250000000", "ap-guangzhou", "uploads/a.jpg")])
        meta = event["Records"][0]["cos"]["cosObject"]["meta"]
        meta[name] = meta.pop("ETag")
        return event

    [etag], [lower], [odd] = (parse_records(event_with(n)) for n in ("ETag", "etag", "Etag"))
    assert etag.etag == lower.etag == odd.etag != ""


def test_a_resubmission_generation_gives_a_new_id():
    assert session_id_for(record(), "f", "r1") not in (
        session_id_for(record(), "f"),
        session_id_for(record(), "f", "r2"),
    )


def test_without_an_etag_the_upload_s_own_identity_is_used():
    a = record()._replace(etag="")
    assert session_id_for(a, "f") != session_id_for(a._replace(cos_request_id="other"), "f")
    assert session_id_for(a, "f") != session_id_for(a._replace(event_time=1.0), "f")
    assert session_id_for(a, "f") == session_id_for(a, "f")


def test_changed_task_configuration_gives_a_new_session_id():
    other = load_settings({"OUTPUT_DIR": "/hd/"})
    assert session_id_for(record(), DEFAULT.fingerprint) != session_id_for(record(), other.fingerprint)


def test_different_objects_do_not_collide():
    keys = [f"k/{i}.jpg" for i in range(2000)] + ["a b.jpg", "a+b.jpg", "a%20b.jpg", "中.jpg"]
    ids = {session_id_for(record(k, event_time=1), "f") for k in keys}
    assert len(ids) == len(keys)
    # Fields that could be confused when concatenated stay distinct.
    a = record("ab.jpg")._replace(bucket="x-1")
    b = record("b.jpg")._replace(bucket="x-1a")
    assert session_id_for(a, "f") != session_id_for(b, "f")


# -- classification and backoff --------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("InvalidParameterValue.SessionId", DUPLICATE),
        ("RequestLimitExceeded", ErrorKind.THROTTLED),
        ("RequestLimitExceeded.UinLimitExceeded", ErrorKind.THROTTLED),
        ("RequestLimitExceeded.IPLimitExceeded", ErrorKind.THROTTLED),
        ("RequestLimitExceeded.GlobalRegionUinLimitExceeded", ErrorKind.THROTTLED),
        ("InternalError", TRANSIENT),
        ("InternalError.DBError", TRANSIENT),
        ("ServerNetworkError", TRANSIENT),
        ("ClientNetworkError", TRANSIENT),
        ("InvalidResponse", TRANSIENT),
        ("UnknownParameter", SESSION_ID_REJECTED),
        ("AuthFailure.TokenFailure", CREDENTIALS_STALE),
        ("InvalidParameter", PERMANENT),
        ("InvalidParameterValue", PERMANENT),
        ("InvalidParameterValue.SessionIdTooLong", PERMANENT),
        ("AuthFailure.SignatureFailure", PERMANENT),
        ("AuthFailure.UnauthorizedOperation", PERMANENT),
        ("UnauthorizedOperation", PERMANENT),
        ("FailedOperation.InvalidMpsUser", PERMANENT),
        ("SomethingNew", PERMANENT),
    ],
)
def test_classification(code, kind):
    assert classify(code) == kind


def test_unknown_parameter_without_session_id_is_permanent():
    assert classify("UnknownParameter", sent_session_id=False) == PERMANENT


def test_backoff_is_full_jitter_exponential_and_capped():
    policy = RetryPolicy()
    assert policy.backoff(0, rand=lambda: 1.0) == pytest.approx(0.2)
    assert policy.backoff(3, rand=lambda: 1.0) == pytest.approx(1.6)
    assert policy.backoff(20, rand=lambda: 1.0) == 5.0
    assert policy.backoff(3, rand=lambda: 0.0) == 0.0
    assert policy.backoff(3, rand=lambda: 0.5) == pytest.approx(0.8)
