"""The typed COS record view: prefix stripping, raw keys, regions, and clear per-record errors."""

from __future__ import annotations

import copy
from urllib.parse import unquote, urlsplit

import pytest
from repo import load_event as load

from autoenhance.sample_events import cos_event, cos_record
from handler.cos_event import CosUploadRecord, RecordError, authorization_headers, parse_records
from handler.errors import MalformedEventError


def only(event: dict, **kw) -> CosUploadRecord | RecordError:
    [parsed] = parse_records(event, **kw)
    return parsed


def test_put_event_parses_every_field():
    rec = only(load("put.json"))
    assert isinstance(rec, CosUploadRecord)
    assert rec.bucket == "photos-1250000000"
    assert rec.region == "ap-guangzhou"
    assert rec.key == "uploads/2026/cat.jpg"
    assert rec.size == 245_760
    assert rec.event_name == "cos:ObjectCreated:Put"
    assert rec.event_time == 1_764_000_000
    assert rec.cos_request_id and rec.etag.startswith('"')
    assert rec.content_type == "image/jpeg"
    assert rec.is_object_created


@pytest.mark.parametrize(
    "key",
    ["uploads/假期 照片/海边 日落+1 100%.jpg", "a+b.jpg", "100%25.png", "with space.jpg", "x/%E4%B8%AD.jpg"],
)
def test_key_passes_through_unchanged_and_matches_the_encoded_url(key):
    """The evidence (docs/tencent-cloud.md#object-key): `key` is raw, `url` is percent-encoded. Never decode the key."""
    event = cos_event([cos_record("photos-1250000000", "ap-guangzhou", key)])
    rec = only(event)
    assert isinstance(rec, CosUploadRecord)
    assert rec.key == key
    url_path = urlsplit(event["Records"][0]["cos"]["cosObject"]["url"]).path
    assert unquote(url_path) == "/" + key


def test_unicode_sample_event_keeps_cjk_space_plus_and_percent():
    rec = only(load("unicode-and-space-key.json"))
    assert rec.key == "uploads/假期 照片/海边 日落+1 100%.jpg"


def test_prefix_is_stripped_exactly_once():
    event = cos_event([cos_record("photos-1250000000", "ap-guangzhou", "1250000000/photos/x.jpg")])
    assert only(event).key == "1250000000/photos/x.jpg"


def test_key_without_the_appid_name_prefix_is_a_record_error():
    event = load("put.json")
    event["Records"][0]["cos"]["cosObject"]["key"] = "/999/other/x.jpg"
    rec = only(event)
    assert isinstance(rec, RecordError)
    assert "does not start with '/1250000000/photos/'" in rec.message
    assert rec.bucket == "photos-1250000000"


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("gz", "ap-guangzhou"),
        ("sh", "ap-shanghai"),
        ("bj", "ap-beijing"),
        ("cd", "ap-chengdu"),
        ("cq", "ap-chongqing"),
        ("tj", "ap-beijing-1"),
        ("hk", "ap-hongkong"),
        ("sgp", "ap-singapore"),
        ("ca", "na-toronto"),
        ("ger", "eu-frankfurt"),
        ("cn-south", "ap-guangzhou"),
        ("cn-east", "ap-shanghai"),
        ("sg", "ap-singapore"),
    ],
)
def test_short_region_code_maps_to_full_name_when_cos_region_is_absent(short, full):
    event = load("put.json")
    bucket = event["Records"][0]["cos"]["cosBucket"]
    del bucket["cosRegion"], bucket["s3Region"]
    bucket["region"] = short
    assert only(event).region == full


def test_cos_region_wins_over_short_code():
    event = load("put.json")
    event["Records"][0]["cos"]["cosBucket"].update(region="gz", cosRegion="ap-shanghai")
    assert only(event).region == "ap-shanghai"


def test_unknown_short_code_is_an_error_not_a_guess():
    event = load("put.json")
    bucket = event["Records"][0]["cos"]["cosBucket"]
    del bucket["cosRegion"]
    bucket["region"] = "xx"
    rec = only(event, fallback_region="ap-guangzhou")
    assert isinstance(rec, RecordError)
    assert "unknown COS region code 'xx'" in rec.message


def test_region_code_overrides_extend_the_map():
    event = load("put.json")
    bucket = event["Records"][0]["cos"]["cosBucket"]
    del bucket["cosRegion"]
    bucket["region"] = "nj"
    assert only(event, region_codes={"nj": "ap-nanjing"}).region == "ap-nanjing"


def test_no_region_at_all_falls_back_to_the_function_region():
    event = load("put.json")
    bucket = event["Records"][0]["cos"]["cosBucket"]
    del bucket["cosRegion"], bucket["region"]
    assert only(event, fallback_region="ap-chengdu").region == "ap-chengdu"
    rec = only(event)
    assert isinstance(rec, RecordError) and "no region" in rec.message


def test_garbage_cos_region_is_an_error():
    event = load("put.json")
    event["Records"][0]["cos"]["cosBucket"]["cosRegion"] = "Guangzhou!"
    assert "is not a region name" in only(event).message


def test_console_template_strings_for_size_and_time_are_accepted():
    event = load("put.json")
    event["Records"][0]["cos"]["cosObject"]["size"] = "1024"
    event["Records"][0]["event"]["eventTime"] = "1970-01-01T00:00:10.000Z"
    rec = only(event)
    assert rec.size == 1024 and rec.event_time == 10.0


def test_numeric_appid_is_accepted():
    event = load("put.json")
    event["Records"][0]["cos"]["cosBucket"]["appid"] = 1250000000
    assert only(event).bucket == "photos-1250000000"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.pop("cos"), "missing field cos"),
        (lambda r: r["cos"].pop("cosObject"), "missing field cosObject"),
        (lambda r: r["cos"]["cosObject"].pop("key"), "missing field key"),
        (lambda r: r["cos"]["cosObject"].update(key=42), "key should be a string, got number"),
        (lambda r: r["cos"]["cosBucket"].update(name=["x"]), "name should be a string, got array"),
        (lambda r: r["cos"]["cosBucket"].update(appid="abc"), "appid should be a numeric string"),
        (lambda r: r["cos"]["cosObject"].update(size=-1), "size should be a non-negative integer"),
        (lambda r: r["cos"]["cosObject"].update(size=True), "size should be a non-negative integer"),
        (lambda r: r["event"].pop("eventName"), "missing field eventName"),
        (lambda r: r["event"].update(eventTime="yesterday"), "eventTime should be Unix seconds"),
        (lambda r: r.update(event="put"), "event should be an object, got string"),
    ],
)
def test_malformed_record_gets_a_clear_error_naming_the_field(mutate, expected):
    event = load("put.json")
    mutate(event["Records"][0])
    rec = only(event)
    assert isinstance(rec, RecordError)
    assert expected in rec.message


def test_bad_record_does_not_hide_good_ones():
    event = load("batch.json")
    event["Records"].insert(2, "not a record")
    parsed = parse_records(event)
    assert [type(p).__name__ for p in parsed] == ["CosUploadRecord"] * 2 + ["RecordError"] + ["CosUploadRecord"] * 3
    assert parsed[2].message == "record should be an object, got string"
    assert [p.position for p in parsed] == list(range(6))


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ([], "event should be a JSON object, got array"),
        ("x", "got string"),
        (None, "got null"),
        ({}, "no Records field"),
        ({"Records": {}}, "Records is object"),
    ],
)
def test_event_without_a_record_list_is_malformed(event, expected):
    with pytest.raises(MalformedEventError, match=expected):
        parse_records(event)


def test_authorization_headers_are_collected_for_redaction():
    event = load("batch.json")
    event["Records"][1]["event"]["requestParameters"]["requestHeaders"] = {"authorization": "secret-sig"}
    found = authorization_headers(event)
    assert "secret-sig" in found and len(found) == 5
    assert authorization_headers({"Records": [None, {"event": []}]}) == []


def test_parsing_does_not_mutate_the_event():
    event = load("batch.json")
    before = copy.deepcopy(event)
    parse_records(event)
    assert event == before
